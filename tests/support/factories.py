"""Small factories for postmortem tests: incidents through the real webhook, the rest through the API."""

import uuid

import sqlalchemy as sa

from app.models.packets import EventPacket
from tests.support.constants import ADMIN
from tests.support.pagerduty import incident_event, post_delivery


async def make_incident(client, runtime, external_id: str = "PINC0001", *, service_id: str = "PSV81QA",
                        title: str = "Checkout API p99 latency > 2s") -> str:
    """An incident as PagerDuty would report it; returns its Loopgate id."""
    event = incident_event(f"EV-{external_id}", "incident.triggered", "2026-11-20T10:00:00Z", external_id,
                           created_at="2026-11-20T10:00:00Z", service_id=service_id, title=title)
    assert (await post_delivery(client, event)).status_code == 202
    await runtime.queue.drain()
    response = await client.get(f"/api/v1/incidents/{external_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def add_packet(runtime, incident_id: str, *, status: str = "complete", similar: tuple[str, ...] = ()) -> None:
    """A newest packet version for the incident, as the assembly job leaves it."""
    async with runtime.sessionmaker() as session:
        current = await session.scalar(sa.select(sa.func.max(EventPacket.version))
                                       .where(EventPacket.incident_id == uuid.UUID(incident_id)))
        session.add(EventPacket(incident_id=uuid.UUID(incident_id), version=(current or 0) + 1, status=status,
                                reason="test", attempts=0,
                                content={"similar_incidents": [{"incident_id": s} for s in similar]}))
        await session.commit()


async def make_postmortem(client, incident_ids: list[str], *, framework: str = "contribution_map",
                          **fields) -> dict:
    body = {"title": "Checkout latency", "incident_ids": incident_ids, "framework": framework, **fields}
    response = await client.post("/api/v1/postmortems", headers=ADMIN, json=body)
    assert response.status_code == 201, response.text
    return response.json()


FINDING = {
    "statement": "The canary only watched error rates, so the latency regression went out unnoticed.",
    "category": "technical", "tags": ["canary"], "impact": "high", "effort": "low", "decision": "knowledge_base",
}


async def add_finding(client, postmortem_id: str, **fields) -> dict:
    response = await client.post(f"/api/v1/postmortems/{postmortem_id}/findings", headers=ADMIN,
                                 json={**FINDING, **fields})
    assert response.status_code == 201, response.text
    return response.json()


ACTION_ITEM = {"title": "Watch p95 latency in the canary", "owner": "dana", "priority": "P2",
               "due_date": "2026-12-15", "durability": "guardrail"}


async def add_action_item(client, finding_id: str, **fields) -> dict:
    response = await client.post(f"/api/v1/findings/{finding_id}/action-items", headers=ADMIN,
                                 json={**ACTION_ITEM, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def move(client, postmortem_id: str, *steps: str):
    """Transition through `steps`; returns the last answer."""
    response = None
    for step in steps:
        response = await client.post(f"/api/v1/postmortems/{postmortem_id}/transitions", headers=ADMIN,
                                     json={"to": step})
    return response


async def audit_entries(runtime, entity_id: str | None = None) -> list[tuple[str, str, str, str]]:
    """(actor, action, entity, entity_id) of every audit entry, oldest first."""
    sql = "SELECT actor, action, entity, entity_id FROM audit_entries"
    params = {}
    if entity_id is not None:
        sql += " WHERE entity_id = :entity_id"
        params["entity_id"] = entity_id
    async with runtime.engine.connect() as connection:
        rows = (await connection.execute(sa.text(sql + " ORDER BY at, action"), params)).all()
    return [tuple(row) for row in rows]
