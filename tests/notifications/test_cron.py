"""Scheduling: one schedule for arq and the in-process runner; every scheduled job twice on a day changes nothing."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import respx
import sqlalchemy as sa
from prometheus_client import REGISTRY

from app.core.schedule import Schedule
from app.runtime import JOBS, SCHEDULE, start_schedule
from app.worker import WorkerSettings
from tests.support.factories import add_action_item, add_finding, make_postmortem
from tests.support.notifications import resolve_incident, subscribe
from tests.support.waiting import eventually

HOOK = "https://hooks.example/all"
ALL_EVENTS = ["incident.resolved", "packet.assembled", "packet.sla_breached", "postmortem.published",
              "postmortem.closed", "gate.failed", "action_item.overdue", "action_item.escalated", "action_item.stale",
              "action_item.auto_closed", "pattern.detected", "recurrence.detected", "digest.weekly", "digest.monthly"]


def test_the_schedule():
    at = {entry.job: entry for entry in SCHEDULE}
    moment = datetime(2026, 12, 6, 7, 30, 10, tzinfo=UTC)
    assert at["escalate"].next_after(moment) == datetime(2026, 12, 7, 7, 0, 0, tzinfo=UTC)
    assert at["digest"].next_after(moment) == datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)
    assert at["packet_sla"].next_after(moment) == datetime(2026, 12, 6, 8, 5, 0, tzinfo=UTC)
    assert at["reconcile_jira"].next_after(moment) == datetime(2026, 12, 6, 7, 30, 30, tzinfo=UTC)
    assert at["sweep_all"].next_after(moment) == datetime(2026, 12, 6, 7, 31, 0, tzinfo=UTC)
    assert at["escalate"].next_after(datetime(2026, 12, 6, 7, 0, 0, tzinfo=UTC)).day == 7  # strictly after


def test_the_worker_runs_the_same_schedule_unique_across_workers():
    crons = {c.name: c for c in WorkerSettings.cron_jobs}
    assert set(crons) == {f"cron:{entry.job}" for entry in SCHEDULE}
    for entry in SCHEDULE:
        job = crons[f"cron:{entry.job}"]
        assert job.unique, entry.job
        assert (job.hour, job.minute, job.second) == (
            set(entry.hour) if entry.hour else None, set(entry.minute) if entry.minute else None, entry.second)
        assert job.coroutine is JOBS[entry.job]


async def test_the_in_process_runner_submits_a_job_at_its_time(runtime):
    def runs() -> float:
        return REGISTRY.get_sample_value("loopgate_job_runs_total", {"job": "packet_sla"}) or 0.0

    before = runs()
    soon = datetime.now(UTC) + timedelta(seconds=2)
    start_schedule(runtime, (Schedule("packet_sla", second=soon.second),))
    await asyncio.sleep(1.0)
    await eventually(lambda: runs() > before, what="packet_sla ran on its schedule", queue=runtime.queue,
                     timeout=5.0)
    assert runs() == before + 1


async def snapshot(runtime) -> dict[str, list]:
    """Everything a scheduled job may write, as plain rows."""
    queries = {
        "deliveries": "SELECT event_type, subscription_id, status FROM deliveries ORDER BY event_type, id",
        "announcements": "SELECT kind, subject, level FROM announcements ORDER BY kind, subject, level",
        "action_items": "SELECT id, status, escalation_level, updated_at, closed_at, completion_notes "
                        "FROM action_items ORDER BY id",
        "audit": "SELECT action, entity_id FROM audit_entries ORDER BY at, action, entity_id",
        "packets": "SELECT id, status, assembled_at FROM event_packets ORDER BY id",
        "tickets": "SELECT id, state FROM tickets ORDER BY id",
    }
    async with runtime.engine.connect() as connection:
        return {name: [tuple(map(str, row)) for row in (await connection.execute(sa.text(sql))).all()]
                for name, sql in queries.items()}


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_every_scheduled_job_twice_on_the_same_day_changes_nothing(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=ALL_EVENTS)
    clock.set(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    submit = runtime.queue.submit
    runtime.queue.submit = lambda job: None if job.name == "assemble_packet" else submit(job)
    await resolve_incident(client, runtime, "PCRON1", triggered="2026-07-01T07:00:00Z",
                           at="2026-07-01T08:00:00Z")  # its packet will be late
    runtime.queue.submit = submit
    incident = json.loads((await client.get("/api/v1/incidents/PCRON1",
                                            headers={"Authorization": "Bearer test-admin-token"})).text)["id"]
    for n in range(3):
        postmortem = await make_postmortem(client, [incident], title=f"PM {n}")
        finding = await add_finding(client, postmortem["id"], tags=["canary"])
        await add_action_item(client, finding["id"], title=f"P{n + 1} item", priority=f"P{n + 1}",
                              due_date="2026-07-20")
    names = [entry.job for entry in SCHEDULE]
    # Two days: one when the packet is late, one 96 days on, when every rung of the ladder has something to say.
    for day in (datetime(2026, 7, 3, 6, 0, tzinfo=UTC), datetime(2026, 10, 5, 6, 0, tzinfo=UTC)):
        clock.set(day)
        for job in names:
            await JOBS[job](runtime.ctx)
            await runtime.queue.drain()
        first = await snapshot(runtime)
        delivered = route.call_count
        clock.advance(hours=5)  # later the same day
        for job in names:
            await JOBS[job](runtime.ctx)
            await runtime.queue.drain()
        assert await snapshot(runtime) == first, day
        assert route.call_count == delivered
    assert {e for e, *_ in first["deliveries"]} >= {
        "packet.sla_breached", "action_item.overdue", "action_item.escalated", "action_item.stale",
        "action_item.auto_closed", "pattern.detected", "digest.weekly", "digest.monthly"}
    assert all(status == "delivered" for *_, status in first["deliveries"])


def test_loopgate_jobs_run_knows_the_new_jobs(settings):
    env = {**os.environ, "LOOPGATE_DATABASE_URL": settings.database_url}
    env.pop("LOOPGATE_REDIS_URL", None)
    for job in ("escalate", "packet_sla", "digest"):
        done = subprocess.run([sys.executable, "-m", "app.cli", "jobs", "run", job], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
