"""The outbox: an event becomes one Delivery row per matching subscription, in the caller's transaction.

The `deliver` job is queued only after that transaction commits (app/core/queue.py), so a
delivery never goes out for a change that rolled back; the sweeper picks up any it missed.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import insert_for
from app.core.dml import rowcount
from app.core.queue import enqueue_after_commit
from app.models.notifications import Announcement, Delivery, EventType, Subscription


@dataclass(frozen=True)
class Facets:
    """What a subscription's filters look at (DESIGN §11): an event matches a non-empty filter
    when they share a value; services are named by id and by name."""

    services: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, services: Iterable[str | None] = (), teams: Iterable[str | None] = (),
           categories: Iterable[str | None] = (), severities: Iterable[str | None] = ()) -> "Facets":
        def clean(values: Iterable[str | None]) -> frozenset[str]:
            return frozenset(v.lower() for v in values if v)

        return cls(clean(services), clean(teams), clean(categories), clean(severities))


def matches(subscription: Subscription, *, event_type: str, facets: Facets) -> bool:
    """The subscription wants this type and every filter it has matches the event."""
    if event_type not in subscription.events:
        return False
    for wanted, present in ((subscription.services, facets.services), (subscription.teams, facets.teams),
                            (subscription.categories, facets.categories),
                            (subscription.severities, facets.severities)):
        if wanted and not {w.lower() for w in wanted} & present:
            return False
    return True


def jsonable(value: Any) -> Any:
    """Plain JSON for an event's data: datetimes and dates as ISO 8601, UUIDs as strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


async def record(session: AsyncSession, *, event_type: EventType, data: Mapping[str, Any],
                 facets: Facets = Facets()) -> int:
    """Write one delivery per matching subscription and queue each after commit; the number written."""
    subscriptions = (await session.scalars(sa.select(Subscription))).all()
    targets = [s for s in subscriptions if matches(s, event_type=event_type, facets=facets)]
    if not targets:
        return 0
    now = clock.now()
    body = {"id": f"evt_{uuid.uuid4().hex}", "type": str(event_type), "occurred_at": now.isoformat(),
            "data": jsonable(data)}
    for subscription in targets:
        delivery = Delivery(subscription_id=subscription.id, event_id=body["id"], event_type=str(event_type),
                            payload=body, next_attempt_at=now)
        session.add(delivery)
        enqueue_after_commit(session, "deliver", str(delivery.id))
    return len(targets)


async def first_time(session: AsyncSession, *, kind: str, subject: str, level: int = 0) -> bool:
    """Remember (kind, subject, level); True only the first time it is asked, on any worker.

    The row commits with whatever is announced, so a rolled-back run announces nothing and
    remembers nothing; two runs at once cannot both win (primary key, ON CONFLICT DO NOTHING).
    """
    result = await session.execute(
        insert_for(session, Announcement)
        .values(kind=kind, subject=subject, level=level, announced_at=clock.now())
        .on_conflict_do_nothing())
    return rowcount(result) == 1


async def announce_once(session: AsyncSession, *, event_type: EventType, subject: str, data: Mapping[str, Any],
                        facets: Facets = Facets(), level: int = 0, kind: str | None = None) -> bool:
    """Record the event unless (kind or its type, subject, level) was announced before; True when it was now."""
    if not await first_time(session, kind=kind or str(event_type), subject=subject, level=level):
        return False
    await record(session, event_type=event_type, data=data, facets=facets)
    return True
