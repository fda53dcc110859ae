"""Delivering one outbox row: claim it, POST it (signed or as Slack text), record what happened.

Retries after 10 s, 30 s, 2 min, 10 min, 30 min, then hourly, each ±20 % (jitter, so a
subscriber that comes back is not hit by every delivery at once); the last attempt is made
24 hours after the event, and if it fails too the row is `gave_up` with the last error.
"""

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.dml import rowcount
from app.models.notifications import Delivery, DeliveryStatus, Subscription, SubscriptionFormat
from app.notifications import signing, slack

RETRY_DELAYS = (10.0, 30.0, 120.0, 600.0, 1800.0)
HOURLY = 3600.0
JITTER = 0.2
GIVE_UP_AFTER = timedelta(hours=24)

OUTCOMES = Counter("loopgate_subscriber_deliveries", "Attempts to deliver an event to a subscriber, by outcome",
                   ["outcome"])

_jitter = random.Random()


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt, jittered ±20 %."""
    base = RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else HOURLY
    return base * (1 + _jitter.uniform(-JITTER, JITTER))


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    url: str
    format: str
    secret: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim(session: AsyncSession, *, delivery_id: uuid.UUID, lease: timedelta) -> Attempt | None:
    """Take a due delivery for one attempt; None when it is not due, done, or another worker has it.

    One conditional UPDATE moves next_attempt_at past the lease, so two workers cannot both win.
    """
    now = clock.now()
    taken = await session.execute(
        sa.update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.pending,
               col(Delivery.next_attempt_at) <= now)
        .values(next_attempt_at=now + lease, attempts=col(Delivery.attempts) + 1, last_attempt_at=now))
    if rowcount(taken) != 1:
        return None
    delivery = await session.get_one(Delivery, delivery_id, populate_existing=True)
    subscription = await session.get_one(Subscription, delivery.subscription_id)
    return Attempt(delivery.id, subscription.url, subscription.format, subscription.secret, delivery.payload)


def request_of(attempt: Attempt, *, at: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: signed anew each time, with the same message id."""
    if attempt.format == SubscriptionFormat.slack:
        return json.dumps({"text": slack.text(attempt.payload)}).encode(), {"content-type": "application/json"}
    body = json.dumps(attempt.payload, separators=(",", ":")).encode()
    return body, signing.headers(attempt.secret, message_id=attempt.payload["id"], timestamp=int(at.timestamp()),
                                 body=body)


async def send(http: httpx.AsyncClient, attempt: Attempt) -> Outcome:
    """POST once; a transport error or a timeout is an outcome too, never an exception."""
    body, headers = request_of(attempt, at=clock.now())
    try:
        response = await http.post(attempt.url, content=body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:2000])
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, None)
    return Outcome(response.status_code, f"HTTP {response.status_code}: {response.text[:500]}")


async def record_outcome(session: AsyncSession, *, delivery_id: uuid.UUID, outcome: Outcome) -> float | None:
    """Keep the outcome on the row; the seconds until the next attempt, or None when there is none."""
    delivery = await session.get(Delivery, delivery_id, with_for_update=True, populate_existing=True)
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return None
    now = clock.now()
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status, delivery.delivered_at = DeliveryStatus.delivered, now
        OUTCOMES.labels("delivered").inc()
        return None
    deadline = delivery.created_at + GIVE_UP_AFTER
    if now >= deadline:
        delivery.status, delivery.gave_up_at = DeliveryStatus.gave_up, now
        OUTCOMES.labels("gave_up").inc()
        return None
    OUTCOMES.labels("failed").inc()
    delivery.next_attempt_at = min(now + timedelta(seconds=retry_delay(delivery.attempts)), deadline)
    return (delivery.next_attempt_at - now).total_seconds()


async def due(session: AsyncSession, *, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """Pending deliveries whose next attempt is due (the sweeper's query)."""
    return list(await session.scalars(
        sa.select(col(Delivery.id))
        .where(col(Delivery.status) == DeliveryStatus.pending, col(Delivery.next_attempt_at) <= now)
        .order_by(col(Delivery.next_attempt_at)).limit(limit)))
