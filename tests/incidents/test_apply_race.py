"""Two batches touching one incident at once: the batch that commits second sees the first one's change.

The storm test caught this 1 run in 3 when an incident was read before the transaction's first
write (f4692b6): on SQLite that read is outside the write transaction, so a job could fold onto
a row a concurrent job had changed meanwhile. The batch job's first statement is the claim, a
write (SQLite's write lock); on PostgreSQL the incidents are locked FOR UPDATE. Here the moment
is forced: one job stops right after it holds the incident while another applies its next event.
"""

import asyncio

from app.incidents import apply
from app.runtime import apply_inbox, open_runtime
from tests.support.constants import ADMIN
from tests.support.incidents import store
from tests.support.pagerduty import incident_event

INC = "PRACE001"
CREATED = "2026-11-20T10:00:00Z"
TRIGGERED = incident_event("RC-1", "incident.triggered", CREATED, INC, created_at=CREATED)
RESOLVED = incident_event("RC-2", "incident.resolved", "2026-11-20T10:05:00Z", INC, status="resolved",
                          created_at=CREATED)
REOPENED = incident_event("RC-3", "incident.reopened", "2026-11-20T10:10:00Z", INC, status="triggered",
                          created_at=CREATED)
RESOLVED_AGAIN = incident_event("RC-4", "incident.resolved", "2026-11-20T10:15:00Z", INC, status="resolved",
                                created_at=CREATED)


async def test_a_job_holding_the_incident_is_not_overtaken(runtime, client, monkeypatch):
    for delivery in (TRIGGERED, RESOLVED):
        await store(runtime, delivery)
    assert await apply_inbox(runtime.ctx) == 2
    # Stored oldest first: a batch of one takes the later resolve first, the next batch the reopen.
    await store(runtime, RESOLVED_AGAIN)
    await store(runtime, REOPENED)
    holding, release = asyncio.Event(), asyncio.Event()
    lock_or_create = apply._lock_or_create

    async def stop_after_lock(session, *, external_ids):
        incidents = await lock_or_create(session, external_ids=external_ids)
        if not holding.is_set():  # only the first job stops, holding the incident
            holding.set()
            await release.wait()
        return incidents

    monkeypatch.setattr(apply, "_lock_or_create", stop_after_lock)
    other = await open_runtime(runtime.settings)  # a second worker: its own engine and connections
    try:
        first = asyncio.create_task(apply_inbox(runtime.ctx, limit=1))
        await holding.wait()
        second = asyncio.create_task(apply_inbox(other.ctx, limit=1))
        # The second job must wait for the first (SQLite's write lock, PostgreSQL's row lock); if it can
        # finish now, the first goes on from a row that is no longer current.
        done, _ = await asyncio.wait({second}, timeout=0.5)
        release.set()
        claimed = await asyncio.gather(first, second)
        await other.queue.drain()
    finally:
        await other.close()
    assert not done, "a second job applied its event while another job held the incident"
    assert sum(claimed) == 2
    incident = (await client.get(f"/api/v1/incidents/{INC}", headers=ADMIN)).json()
    assert (incident["status"], incident["reopened_count"]) == ("resolved", 1)
    assert incident["resolved_at"].startswith("2026-11-20T10:15:00")
