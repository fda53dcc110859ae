"""The apply job may run twice over the same rows (a retry, the sweeper, two workers): nothing happens twice."""

import asyncio
import uuid

import sqlalchemy as sa

from app.models.inbound import InboundEvent
from app.runtime import apply_inbox, open_runtime
from tests.support.incidents import store
from tests.support.pagerduty import incident_event, note_event

INC = "PTWICE01"
HISTORY = [
    incident_event("TW-1", "incident.triggered", "2026-11-20T10:00:00Z", INC, created_at="2026-11-20T10:00:00Z",
                   priority="P2"),
    incident_event("TW-2", "incident.acknowledged", "2026-11-20T10:03:00Z", INC, status="acknowledged",
                   created_at="2026-11-20T10:00:00Z", priority="P2"),
    note_event("TW-3", "2026-11-20T10:04:00Z", INC, "Failing over the primary."),
]


async def snapshot(runtime) -> dict:
    """Everything the job may touch, as plain data."""
    async with runtime.engine.connect() as connection:
        async def rows(sql: str) -> list[tuple]:
            return [tuple(row) for row in (await connection.execute(sa.text(sql))).all()]

        incident_columns = [c for c in (await connection.execute(sa.text("SELECT * FROM incidents"))).keys()]
        return {
            "incidents": await rows(f"SELECT {', '.join(incident_columns)} FROM incidents ORDER BY external_id"),
            "incident_events": await rows("SELECT event_id, event_type, occurred_at, incident_id FROM incident_events "
                                          "ORDER BY event_id"),
            "incident_teams": await rows("SELECT incident_id, team_id, team_name FROM incident_teams "
                                         "ORDER BY team_id"),
            "audit_entries": await rows("SELECT actor, action, entity, entity_id FROM audit_entries "
                                        "ORDER BY action, entity_id"),
        }


async def inbound_row(runtime, row_id: str):
    async with runtime.engine.connect() as connection:
        return (await connection.execute(
            sa.select(InboundEvent.handled_at, InboundEvent.attempts, InboundEvent.error)
            .where(InboundEvent.id == uuid.UUID(row_id))
        )).one()


async def apply_history(runtime) -> list[str]:
    ids = [await store(runtime, delivery) for delivery in HISTORY]
    assert await apply_inbox(runtime.ctx) == len(ids)
    return ids


async def test_the_history_applies(runtime):
    ids = await apply_history(runtime)
    state = await snapshot(runtime)
    assert len(state["incidents"]) == 1
    assert len(state["incident_events"]) == 3
    assert state["incident_teams"] == [(state["incidents"][0][0], "PTM0PAY", "Payments")]
    assert len(state["audit_entries"]) == 3
    for row_id in ids:
        row = await inbound_row(runtime, row_id)
        assert row.handled_at is not None and row.attempts == 1 and row.error is None


async def test_running_the_job_again_on_a_handled_row_changes_nothing(runtime):
    ids = await apply_history(runtime)
    before = await snapshot(runtime)
    rows_before = [await inbound_row(runtime, row_id) for row_id in ids]

    assert await apply_inbox(runtime.ctx) == 0  # nothing left to claim

    assert await snapshot(runtime) == before
    assert [await inbound_row(runtime, row_id) for row_id in ids] == rows_before


async def test_forcing_a_second_application_changes_nothing(runtime):
    """An operator (or a crash between applying and marking handled) makes the job apply the row again."""
    ids = await apply_history(runtime)
    before = await snapshot(runtime)

    for row_id in ids:
        async with runtime.engine.begin() as connection:
            await connection.execute(sa.update(InboundEvent).where(InboundEvent.id == uuid.UUID(row_id))
                                     .values(handled_at=None))
        assert await apply_inbox(runtime.ctx) == 1
        assert (await inbound_row(runtime, row_id)).handled_at is not None

    after = await snapshot(runtime)
    assert after["incidents"] == before["incidents"]
    assert after["incident_events"] == before["incident_events"]
    assert after["incident_teams"] == before["incident_teams"]
    assert after["audit_entries"] == before["audit_entries"], (
        "BUG app/incidents/apply.py apply_pagerduty_events: re-applying an already-applied event "
        "(its incident_events row already existed) writes another audit entry for the same event"
    )


async def test_two_concurrent_jobs_on_the_same_row_apply_it_once(runtime):
    await store(runtime, HISTORY[0])
    await apply_inbox(runtime.ctx)
    row_id = await store(runtime, HISTORY[1])

    other = await open_runtime(runtime.settings)  # a second worker on the same database
    try:
        claimed = await asyncio.gather(apply_inbox(runtime.ctx), apply_inbox(other.ctx))
        await other.queue.drain()
    finally:
        await other.close()
    assert sorted(claimed) == [0, 1]

    state = await snapshot(runtime)
    assert len(state["incidents"]) == 1
    assert [event[0] for event in state["incident_events"]] == ["TW-1", "TW-2"]
    row = await inbound_row(runtime, row_id)
    assert row.handled_at is not None and row.error is None
    assert [entry[1] for entry in state["audit_entries"]] == ["incident.acknowledged", "incident.triggered"], (
        "BUG app/inbound/service.py claim_batch: two concurrent jobs both claimed one row "
        "(one audit entry per application)"
    )
    assert row.attempts == 1


async def test_running_twice_then_the_api_shows_one_incident(runtime, client):
    from tests.support.constants import ADMIN

    await apply_history(runtime)
    await apply_inbox(runtime.ctx)
    listing = (await client.get("/api/v1/incidents", headers=ADMIN)).json()
    assert [item["external_id"] for item in listing["items"]] == [INC]
    incident = listing["items"][0]
    assert incident["status"] == "acknowledged"
    assert incident["acknowledged_at"].startswith("2026-11-20T10:03:00")
    assert incident["severity"] == "high"
