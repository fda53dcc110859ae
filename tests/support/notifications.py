"""Subscriptions, events and deliveries in tests: subscribe through the API, cause events through the app."""

import sqlalchemy as sa

from app.models.notifications import Delivery
from tests.support.constants import ADMIN
from tests.support.pagerduty import incident_event, post_delivery

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks documentation's example secret


async def subscribe(client, url: str, events=("incident.resolved",), **fields) -> dict:
    response = await client.post("/api/v1/subscriptions", headers=ADMIN,
                                 json={"url": url, "events": list(events), "secret": SECRET, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def resolve_incident(client, runtime, external_id: str = "PINC0001", *, service_id: str = "PSV81QA",
                           title: str = "Checkout API p99 latency > 2s", triggered: str = "2026-11-20T10:00:00Z",
                           at: str = "2026-11-20T10:30:00Z") -> None:
    """An incident triggered and resolved (`at`) through the real PagerDuty webhook."""
    for n, (kind, status, when) in enumerate((("incident.triggered", "triggered", triggered),
                                              ("incident.resolved", "resolved", at))):
        event = incident_event(f"EV-{external_id}-{n}", kind, when, external_id, status=status, title=title,
                               service_id=service_id, created_at=triggered, priority="P1")
        assert (await post_delivery(client, event)).status_code == 202
        await runtime.queue.drain()


async def delivery_log(client, subscription_id: str, **params) -> list[dict]:
    response = await client.get(f"/api/v1/subscriptions/{subscription_id}/deliveries", headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def deliveries(runtime) -> list[Delivery]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(sa.select(Delivery).order_by(Delivery.created_at)))


async def sweep(runtime) -> None:
    """What the sweeper does every minute, then wait for the jobs it queued."""
    from app.runtime import JOBS

    await JOBS["sweep_all"](runtime.ctx)
    await runtime.queue.drain()
