"""The apply job takes stored events in batches: what a user sees does not depend on how they were cut.

A poison row is isolated (the rest of its batch lands, it keeps its error and attempt count,
and it never blocks the queue); an incident whose events span batches, or arrive shuffled
across them, ends where its events in `occurred_at` order say; two workers share one backlog
without applying anything twice or missing anything.
"""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.db import serialize_on
from app.core.queue import Job
from app.core.runtime import Runtime
from app.inbound.jobs import Batch, apply_batch
from app.incidents.apply import apply_lock_key
from app.incidents.fold import parse_time
from app.models.inbound import InboundEvent
from app.runtime import APPLIERS, apply_inbox, open_runtime
from tests.conftest import BACKEND
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, note_event

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def store_all(runtime: Runtime, deliveries: list[dict]) -> list[uuid.UUID]:
    """Store deliveries in the inbox in this order (as the webhook would, without waking the job)."""
    ids = []
    received = datetime.now(UTC) + timedelta(days=1)  # never picked up by the start-up sweep
    async with runtime.sessionmaker() as session:
        for n, delivery in enumerate(deliveries):
            event = delivery["event"]
            ids.append(uuid.uuid4())
            session.add(InboundEvent(id=ids[-1], source="pagerduty", external_id=event["id"],
                                     event_type=event["event_type"], occurred_at=parse_time(event["occurred_at"]),
                                     payload=delivery, received_at=received + timedelta(milliseconds=n),
                                     attempts=0))
        await session.commit()
    return ids


async def rows(runtime: Runtime) -> dict[str, tuple]:
    """external_id → (handled, attempts, error) of every stored event."""
    async with runtime.engine.connect() as connection:
        result = await connection.execute(sa.text(
            "SELECT external_id, handled_at IS NOT NULL, attempts, error FROM inbound_events"))
        return {row[0]: (bool(row[1]), row[2], row[3]) for row in result}


async def incident(client, external_id: str) -> dict:
    response = await client.get(f"/api/v1/incidents/{external_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def history(inc: str, *, prefix: str | None = None) -> list[dict]:
    """Triggered, acknowledged, priority raised, resolved, reopened, a note, resolved again: one bad day."""
    p = prefix or inc
    created = at(0)
    return [
        incident_event(f"{p}-1", "incident.triggered", at(0), inc, created_at=created, priority="P3"),
        incident_event(f"{p}-2", "incident.acknowledged", at(2), inc, status="acknowledged", created_at=created,
                       priority="P3"),
        incident_event(f"{p}-3", "incident.priority_updated", at(4), inc, status="acknowledged", created_at=created,
                       priority="P1"),
        incident_event(f"{p}-4", "incident.resolved", at(9), inc, status="resolved", created_at=created, priority="P1"),
        incident_event(f"{p}-5", "incident.reopened", at(12), inc, status="triggered", created_at=created,
                       priority="P1"),
        note_event(f"{p}-6", at(13), inc, "Rolled back the second deploy."),
        incident_event(f"{p}-7", "incident.resolved", at(20), inc, status="resolved", created_at=created,
                       priority="P1"),
    ]


def assert_final(state: dict) -> None:
    """Where `history` leaves an incident, whatever order its events were applied in."""
    assert state["status"] == "resolved"
    assert state["priority"] == "P1" and state["severity"] == "critical"
    assert state["reopened_count"] == 1
    assert state["triggered_at"].startswith("2026-11-20T10:00:00")
    assert state["acknowledged_at"].startswith("2026-11-20T10:02:00")
    assert state["resolved_at"].startswith("2026-11-20T10:20:00")
    assert state["last_event_at"].startswith("2026-11-20T10:20:00")


@pytest.fixture
async def second_worker(runtime: Runtime) -> AsyncIterator[Runtime]:
    """Another process's runtime on the same database: its own engine, sessions and job queue."""
    other = await open_runtime(runtime.settings)
    yield other
    await other.queue.drain()
    await other.close()


async def test_a_poison_row_is_isolated_and_never_blocks_the_queue(runtime, client):
    good = history("PPOISON1")[:3]
    # The latest event, with a title that is not text: the fold cannot make a fingerprint of it.
    poison = incident_event("PZ-BAD", "incident.annotated", at(30), "PPOISON1", status="acknowledged",
                            created_at=at(0), title=12345)
    other = incident_event("PZ-OTHER-1", "incident.triggered", at(1), "PPOISON2", created_at=at(1))
    await store_all(runtime, [good[0], good[1], poison, good[2], other])

    assert await apply_inbox(runtime.ctx) == 5
    state = await rows(runtime)
    assert state["PZ-BAD"][:2] == (False, 1) and state["PZ-BAD"][2].startswith("AttributeError")
    assert {k: v for k, v in state.items() if k != "PZ-BAD"} == {
        "PPOISON1-1": (True, 1, None), "PPOISON1-2": (True, 1, None), "PPOISON1-3": (True, 1, None),
        "PZ-OTHER-1": (True, 1, None)}
    # The poison row's incident took every other event of the batch; the other incident is there too.
    first = await incident(client, "PPOISON1")
    assert (first["status"], first["priority"]) == ("acknowledged", "P1")
    assert (await incident(client, "PPOISON2"))["status"] == "triggered"
    assert await count_rows(runtime, "incident_events") == 4

    # Later events are applied while the poison row waits for the sweeper's retry.
    await store_all(runtime, [history("PPOISON1")[3]])
    assert await apply_inbox(runtime.ctx) == 1
    assert (await incident(client, "PPOISON1"))["status"] == "resolved"
    # Each retry (the sweeper's) counts an attempt; at the cap the row is left alone for good.
    for attempt in range(2, runtime.settings.job_max_attempts + 1):
        assert await apply_inbox(runtime.ctx, True) == 1
        assert (await rows(runtime))["PZ-BAD"][:2] == (False, attempt)
    assert await apply_inbox(runtime.ctx, True) == 0
    assert await count_rows(runtime, "incident_events") == 5


async def test_an_incident_whose_events_span_two_batches(runtime, client):
    events = history("PSPAN001")[:4]
    await store_all(runtime, events)

    assert await apply_batch(runtime, appliers=APPLIERS, limit=2) == Batch(2)
    middle = await incident(client, "PSPAN001")
    assert (middle["status"], middle["priority"], middle["resolved_at"]) == ("acknowledged", "P3", None)
    assert await count_rows(runtime, "inbound_events WHERE handled_at IS NULL") == 2

    assert await apply_batch(runtime, appliers=APPLIERS, limit=2) == Batch(2)
    done = await incident(client, "PSPAN001")
    assert (done["status"], done["priority"]) == ("resolved", "P1")
    assert done["acknowledged_at"].startswith("2026-11-20T10:02:00")
    assert done["resolved_at"].startswith("2026-11-20T10:09:00")
    assert await count_rows(runtime, "incident_events") == 4
    assert await count_rows(runtime, "audit_entries WHERE action LIKE 'incident.%'") == 4  # one per event, none twice
    assert await apply_batch(runtime, appliers=APPLIERS, limit=2) == Batch(0)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_events_of_one_incident_shuffled_across_batches(runtime, client, seed):
    rng = random.Random(seed)
    inc = f"PSHUF{seed:03d}"
    events = history(inc)
    rng.shuffle(events)
    size = rng.choice([1, 2, 3])
    await store_all(runtime, events)

    assert await apply_inbox(runtime.ctx, limit=size) == len(events)

    assert_final(await incident(client, inc))
    assert await count_rows(runtime, "incident_events") == len(events)
    assert await count_rows(runtime, "audit_entries WHERE action LIKE 'incident.%'") == len(events)


async def test_two_workers_share_one_backlog(runtime, second_worker, client):
    incidents = [f"PTWO{n:03d}" for n in range(40)]
    deliveries = [event for inc in incidents for event in history(inc)[:4]]
    random.Random(14).shuffle(deliveries)
    await store_all(runtime, deliveries)

    claimed = await asyncio.gather(apply_inbox(runtime.ctx, limit=10), apply_inbox(second_worker.ctx, limit=10))

    assert sum(claimed) == len(deliveries)
    if runtime.engine.dialect.name == "postgresql":  # SKIP LOCKED: both took batches at once (SQLite serialises the writers)
        assert min(claimed) > 0, claimed
    assert set((await rows(runtime)).values()) == {(True, 1, None)}  # each row claimed once, none missed
    assert await count_rows(runtime, "incident_events") == len(deliveries)
    assert await count_rows(runtime, "audit_entries WHERE action LIKE 'incident.%'") == len(deliveries)
    assert await count_rows(runtime, "incidents") == len(incidents)
    assert await count_rows(runtime, "event_packets") == len(incidents)  # one resolve each, one packet each
    for inc in incidents:
        state = await incident(client, inc)
        assert (state["status"], state["priority"], state["reopened_count"]) == ("resolved", "P1", 0), inc
        assert state["resolved_at"].startswith("2026-11-20T10:09:00"), inc


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite has one writer: no other worker applies meanwhile")
async def test_an_incident_another_worker_is_applying_is_left_for_a_later_batch(runtime, client):
    """The batch does not wait for the other worker: it applies the rest and leaves that incident's rows
    unhandled, their attempt uncounted, for a batch after the other worker commits."""
    busy, free = history("PBUSY001")[:2], history("PFREE001")[:2]
    await store_all(runtime, [busy[0], free[0], busy[1], free[1]])

    async with runtime.sessionmaker() as other_worker:
        await serialize_on(other_worker, [apply_lock_key("PBUSY001")])
        assert await asyncio.wait_for(apply_batch(runtime, appliers=APPLIERS, limit=10), 30) == Batch(4, 2)
        assert await rows(runtime) == {"PBUSY001-1": (False, 0, None), "PBUSY001-2": (False, 0, None),
                                       "PFREE001-1": (True, 1, None), "PFREE001-2": (True, 1, None)}
        assert (await incident(client, "PFREE001"))["status"] == "acknowledged"
        assert (await client.get("/api/v1/incidents/PBUSY001", headers=ADMIN)).status_code == 404
        await other_worker.commit()

    assert await apply_inbox(runtime.ctx) == 2
    assert set((await rows(runtime)).values()) == {(True, 1, None)}
    assert (await incident(client, "PBUSY001"))["status"] == "acknowledged"
    assert await count_rows(runtime, "incident_events") == 4


async def test_a_helping_job_in_a_process_already_applying_leaves_at_once(runtime, client):
    """A helping job is an offer to another worker: where the backlog is being applied already it
    claims nothing and ends; in a process with nothing running it applies like any apply job."""
    await store_all(runtime, history("PHELP001")[:3])
    async with runtime.turn("apply_inbox"):  # this process is in the middle of a batch
        assert await asyncio.wait_for(apply_inbox(runtime.ctx, False, True), 5) == 0
        assert set((await rows(runtime)).values()) == {(False, 0, None)}
    assert await apply_inbox(runtime.ctx, False, True) == 3
    assert set((await rows(runtime)).values()) == {(True, 1, None)}
    assert (await incident(client, "PHELP001"))["priority"] == "P1"


async def test_a_backlog_is_offered_to_other_workers_while_it_lasts(settings, redis_url):
    """With arq, a job that finds more than a batch waiting offers a helping job to the other workers,
    once per interval across processes; a backlog that fits one batch offers none."""
    from arq.connections import RedisSettings, create_pool

    from app.inbound.jobs import OFFER_SECONDS

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushdb()
    other = await open_runtime(settings.model_copy(update={"redis_url": redis_url}))
    try:
        async def offered() -> list[tuple]:
            await other.queue.drain()
            return [job.args for job in await pool.queued_jobs() if job.function == "apply_inbox"]

        await store_all(other, history("POFFER01")[:2])
        assert await apply_inbox(other.ctx, limit=5) == 2
        assert await offered() == []

        await store_all(other, history("POFFER02")[:6])
        assert await apply_inbox(other.ctx, limit=2) == 6  # three full batches, within one interval
        assert await offered() == [(False, True)]
        await asyncio.sleep(OFFER_SECONDS + 0.1)
        other.queue.offer(Job("apply_inbox", (False, True)), every=OFFER_SECONDS)
        other.queue.offer(Job("apply_inbox", (False, True)), every=OFFER_SECONDS)
        assert await offered() == [(False, True), (False, True)]
    finally:
        await other.close()
        await pool.flushdb()
        await pool.aclose()
