"""Incidents as production creates them: signed deliveries through the webhook, then the handling job."""

import uuid
from datetime import UTC, datetime, timedelta

from app.core import clock
from app.incidents.fold import parse_time
from app.models.inbound import InboundEvent
from tests.support.constants import ADMIN
from tests.support.pagerduty import incident_event, post_delivery

DAY0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
CHECKOUT = {"id": "PSV0001", "summary": "Checkout API", "type": "service_reference"}
SEARCH = {"id": "PSV0002", "summary": "Search", "type": "service_reference"}
PAYMENTS = {"id": "PTM0001", "summary": "Payments", "type": "team_reference"}
PLATFORM = {"id": "PTM0002", "summary": "Platform", "type": "team_reference"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def history(external_id: str, triggered: datetime, *, status: str = "triggered", title: str = "Disk full on db-1",
            service: dict = CHECKOUT, teams: tuple[dict, ...] = (PAYMENTS,), priority: str | None = None,
            urgency: str = "high") -> list[dict]:
    """The deliveries that take one incident from triggered to `status`."""
    snapshot = {"title": title, "service": service, "service_id": service["id"], "teams": list(teams),
                "priority": priority, "urgency": urgency, "created_at": iso(triggered)}
    deliveries = [incident_event(f"{external_id}-T", "incident.triggered", iso(triggered), external_id,
                                 status="triggered", **snapshot)]
    if status in ("acknowledged", "resolved"):
        deliveries.append(incident_event(f"{external_id}-A", "incident.acknowledged",
                                         iso(triggered + timedelta(minutes=5)), external_id, status="acknowledged",
                                         **snapshot))
    if status == "resolved":
        deliveries.append(incident_event(f"{external_id}-R", "incident.resolved",
                                         iso(triggered + timedelta(minutes=30)), external_id, status="resolved",
                                         **snapshot))
    return deliveries


async def deliver(client, runtime, *deliveries: dict) -> None:
    for delivery in deliveries:
        response = await post_delivery(client, delivery)
        assert response.status_code == 202, response.text
    await runtime.queue.drain()


async def create(client, runtime, external_id: str, triggered: datetime, **kwargs) -> dict:
    await deliver(client, runtime, *history(external_id, triggered, **kwargs))
    return await get(client, external_id)


async def get(client, incident_id: str) -> dict:
    response = await client.get(f"/api/v1/incidents/{incident_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def store(runtime, delivery: dict) -> str:
    """Store a delivery in the inbox as the webhook would, but without queueing its job: the test runs it.

    `received_at` lies in the future so that the start-up sweep never picks the row up behind the test's back.
    """
    event = delivery["event"]
    row_id = uuid.uuid4()
    async with runtime.sessionmaker() as session:
        session.add(InboundEvent(id=row_id, source="pagerduty", external_id=event["id"],
                                 event_type=event["event_type"], occurred_at=parse_time(event["occurred_at"]), payload=delivery,
                                 received_at=clock.now() + timedelta(days=1), attempts=0))
        await session.commit()
    return str(row_id)
