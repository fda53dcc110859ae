"""The job layer: sent only after commit, in-process or through arq, and nothing lost across a restart."""

import dataclasses

import sqlalchemy as sa
from arq.worker import Worker

from app.main import create_app
from app.core.queue import Job, enqueue_after_commit
from app.worker import WorkerSettings
from app.runtime import APPLIERS, sweep_all
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, post_delivery
from tests.support.waiting import eventually

TRIGGER = incident_event("EVT1", "incident.triggered", "2026-11-20T10:00:00Z", "PINC001")


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[Job] = []

    def submit(self, job: Job) -> None:
        self.sent.append(job)


async def test_jobs_are_sent_only_after_the_transaction_commits(runtime):
    recorder = RecordingQueue()
    async with runtime.sessionmaker(info={"queue": recorder}) as session:
        enqueue_after_commit(session, "apply_inbox", "rolled-back")
        await session.execute(sa.text("SELECT 1"))
        assert recorder.sent == []
        await session.rollback()
        enqueue_after_commit(session, "apply_inbox", "committed")
        assert recorder.sent == []
        await session.commit()
    assert recorder.sent == [Job("apply_inbox", ("committed",))]


async def incident_count(app) -> int:
    return await count_rows(app.state.runtime, "incidents")


async def test_a_job_lost_before_a_restart_is_handled_after_it(settings):
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        first.state.runtime.queue.submit = lambda job: None  # the process dies before the job runs
        import httpx

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://t") as client:
            assert (await post_delivery(client, TRIGGER)).status_code == 202
        assert await count_rows(first.state.runtime, "inbound_events") == 1
        assert await incident_count(first) == 0

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        # the start-up sweep runs in the background
        await eventually(lambda: incident_count(second), what="the start-up sweep handled the lost job",
                         queue=second.state.runtime.queue)
        assert await incident_count(second) == 1
        async with second.state.runtime.engine.connect() as connection:
            handled = (await connection.execute(sa.text("SELECT handled_at FROM inbound_events"))).scalar_one()
        assert handled is not None


async def test_a_failing_handler_records_the_error_and_the_sweeper_retries(client, runtime, clock, monkeypatch):
    real = APPLIERS["pagerduty"]

    async def broken(session, events, settings):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(APPLIERS, "pagerduty", dataclasses.replace(real, apply=broken))
    assert (await post_delivery(client, TRIGGER)).status_code == 202
    await runtime.queue.drain()
    async with runtime.engine.connect() as connection:
        row = (await connection.execute(sa.text("SELECT attempts, error, handled_at FROM inbound_events"))).one()
    assert row.attempts == 1 and "database hiccup" in row.error and row.handled_at is None

    monkeypatch.setitem(APPLIERS, "pagerduty", real)
    clock.advance(minutes=5)

    await sweep_all(runtime.ctx)
    await runtime.queue.drain()
    assert await count_rows(runtime, "incidents") == 1
    async with runtime.engine.connect() as connection:
        row = (await connection.execute(sa.text("SELECT attempts, error, handled_at FROM inbound_events"))).one()
    assert row.attempts == 2 and row.error is None and row.handled_at is not None


async def test_with_redis_the_api_enqueues_and_a_worker_handles(settings, redis_url):
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushdb()
    app = create_app(settings.model_copy(update={"redis_url": redis_url}))
    import httpx

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            assert (await post_delivery(client, TRIGGER)).status_code == 202
            await app.state.runtime.queue.drain()
            assert await incident_count(app) == 0  # the API process does not run jobs itself
            assert len(await pool.queued_jobs()) == 1
            assert await app.state.runtime.queue.depth() == 1  # loopgate_job_queue_depth

            worker = Worker(functions=WorkerSettings.functions, redis_pool=pool, burst=True, poll_delay=0.05,
                            on_startup=WorkerSettings.on_startup, on_shutdown=WorkerSettings.on_shutdown,
                            ctx={"settings": settings.model_copy(update={"redis_url": redis_url})},
                            handle_signals=False)
            await worker.main()
            await worker.close()
            assert await incident_count(app) == 1
            assert await app.state.runtime.queue.depth() == 0
            incident = await client.get("/api/v1/incidents/PINC001", headers=ADMIN)
            assert incident.json()["status"] == "triggered"
    await pool.aclose()
