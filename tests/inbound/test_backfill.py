"""`loopgate backfill pagerduty`: history from the stand-in PagerDuty, through the inbox and the apply job.

The large case runs the real command in its own process, as an operator would: 2,000
incidents, PagerDuty failing halfway, the same command run again.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from app.core.progress import Tracker
from app.inbound.backfill import BackfillRange, BackfillStopped, PagerDutyBackfill
from app.integrations.pagerduty.history import incident_events
from app.main import create_app
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, post_delivery
from tests.standins.pagerduty import make_incident
from tests.support.standins import PagerDutyStandIn, make_alert, make_lifecycle, make_log_entry

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def pd():
    with PagerDutyStandIn() as standin:
        yield standin


@pytest.fixture
def standin(pd):
    pd.clear()
    yield pd
    pd.clear()


def configured(settings, standin, **extra):
    return settings.model_copy(update={
        "pagerduty_api_url": standin.url, "pagerduty_api_token": SecretStr(standin.token),
        "ca_bundle": standin.ca_bundle_path, "pagerduty_max_attempts": 3, "pagerduty_backoff_seconds": 0.01,
        "pagerduty_timeout_seconds": 10, **extra})


@pytest.fixture
async def pd_client(settings, standin):
    app = create_app(configured(settings, standin))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.runtime = app.state.runtime
            yield client


def seed_light(standin, count: int, *, every: timedelta = timedelta(hours=3)) -> list[dict]:
    """Incidents triggered, acknowledged and resolved, one alert each: the history a backfill mostly meets."""
    lifecycles = []
    for i in range(count):
        ident, created = f"QBF{i:06d}", START + every * i
        common = {"incident_id": ident, "incident_summary": f"[#{1000 + i}] Checkout latency"}
        entries = [make_log_entry("trigger", created_at=created, **common),
                   make_log_entry("acknowledge", created_at=created + timedelta(minutes=3), **common),
                   make_log_entry("resolve", created_at=created + timedelta(minutes=30), **common)]
        lifecycle = {"incident": make_incident(ident, number=1000 + i, title="Checkout latency", created_at=created,
                                               resolved_at=created + timedelta(minutes=30)),
                     "log_entries": entries, "alerts": [make_alert(incident_id=ident, created_at=created)]}
        standin.add_incident(**lifecycle)
        lifecycles.append(lifecycle)
    return lifecycles


def seed(standin, count: int, *, every: timedelta = timedelta(hours=3), start: datetime = START) -> list[dict]:
    lifecycles = [make_lifecycle(f"QBF{i:06d}", number=1000 + i, created_at=start + every * i, n_alerts=1,
                                 n_notes=1, title=f"Checkout latency {i}") for i in range(count)]
    for lifecycle in lifecycles:
        standin.add_incident(**lifecycle)
    return lifecycles


async def backfill(client, window: BackfillRange, **kwargs):
    runtime = client.runtime
    report = await PagerDutyBackfill(sessionmaker=runtime.sessionmaker, inbox=runtime.inbox,
                                     reader=runtime.pagerduty, tracker=Tracker(None, None)).run(window, **kwargs)
    await runtime.queue.drain()
    return report


async def incident(client, external_id: str) -> dict:
    from tests.support.constants import ADMIN

    response = await client.get(f"/api/v1/incidents/{external_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def stable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at", "last_event_at")}


async def test_a_backfilled_incident_is_the_incident_its_webhooks_make(pd_client, standin):
    [lifecycle] = seed(standin, 1)
    report = await backfill(pd_client, BackfillRange(since=START, until=START + timedelta(days=1)))
    assert (report.imported, report.already_present, report.finished) == (1, 0, True)
    got = await incident(pd_client, "QBF000000")
    entries = {e["type"]: e["created_at"] for e in lifecycle["log_entries"]}
    assert got["status"] == "resolved"
    assert got["title"] == "Checkout latency 0"
    assert got["severity"] == "critical"  # P1
    assert got["reported_by"] == "automation"  # triggered by an integration
    assert datetime.fromisoformat(got["triggered_at"]) == datetime.fromisoformat(lifecycle["incident"]["created_at"])
    assert datetime.fromisoformat(got["acknowledged_at"]) == datetime.fromisoformat(entries["acknowledge_log_entry"])
    assert datetime.fromisoformat(got["resolved_at"]) == datetime.fromisoformat(entries["resolve_log_entry"])
    # Resolved, so its packet was asked for and assembled, as after a resolve webhook.
    packet = (await pd_client.get("/api/v1/incidents/QBF000000/packet",
                                  headers={"Authorization": "Bearer " + pd_client.runtime.settings.admin_token
                                           .get_secret_value()})).json()
    assert packet["status"] == "complete"


async def test_imported_then_delivered_by_webhook_is_one_incident(pd_client, standin):
    [lifecycle] = seed(standin, 1)
    await backfill(pd_client, BackfillRange(since=START, until=START + timedelta(days=1)))
    before = await incident(pd_client, "QBF000000")
    resolved_at = next(e["created_at"] for e in lifecycle["log_entries"] if e["type"] == "resolve_log_entry")
    webhook = incident_event("01WEBHOOKRESOLVE0000000000", "incident.resolved", resolved_at, "QBF000000",
                             status="resolved", title="Checkout latency 0", service_id="PSV81QA", priority="P1",
                             created_at=lifecycle["incident"]["created_at"])
    assert (await post_delivery(pd_client, webhook)).status_code == 202
    await pd_client.runtime.queue.drain()
    assert await count_rows(pd_client.runtime, "incidents") == 1
    after = await incident(pd_client, "QBF000000")
    for name in ("status", "triggered_at", "acknowledged_at", "resolved_at", "severity", "reopened_count"):
        assert after[name] == before[name], name


async def test_delivered_by_webhook_then_imported_is_one_incident(pd_client, standin):
    [lifecycle] = seed(standin, 1)
    created = lifecycle["incident"]["created_at"]
    webhook = incident_event("01WEBHOOKTRIGGER0000000000", "incident.triggered", created, "QBF000000",
                             title="Checkout latency 0", service_id="PSV81QA", priority="P1", created_at=created,
                             agent_type="service_reference")
    assert (await post_delivery(pd_client, webhook)).status_code == 202
    await pd_client.runtime.queue.drain()
    await backfill(pd_client, BackfillRange(since=START, until=START + timedelta(days=1)))
    assert await count_rows(pd_client.runtime, "incidents") == 1
    assert (await incident(pd_client, "QBF000000"))["status"] == "resolved"


async def test_running_the_same_backfill_again_stores_nothing_twice(pd_client, standin):
    seed(standin, 5)
    window = BackfillRange(since=START, until=START + timedelta(days=2))
    first = await backfill(pd_client, window)
    rows = await count_rows(pd_client.runtime, "inbound_events")
    again = await backfill(pd_client, window)
    assert (first.imported, again.already_finished) == (5, True)
    restarted = await backfill(pd_client, window, restart=True)
    assert (restarted.imported, restarted.already_present, restarted.events) == (0, 5, 0)
    assert await count_rows(pd_client.runtime, "inbound_events") == rows
    assert await count_rows(pd_client.runtime, "incidents") == 5


async def test_only_the_services_asked_for(pd_client, standin):
    seed(standin, 3)
    standin.add_incident(**make_lifecycle("QOTHER", created_at=START + timedelta(hours=1),
                                          service=("PSVOTHER", "Search")))
    report = await backfill(pd_client, BackfillRange(since=START, until=START + timedelta(days=1),
                                                     services=("PSVOTHER",)))
    assert report.imported == 1
    assert (await incident(pd_client, "QOTHER"))["service_id"] == "PSVOTHER"
    assert await count_rows(pd_client.runtime, "incidents") == 1


async def test_a_429_waits_for_ratelimit_reset_and_goes_on(pd_client, standin):
    seed(standin, 3)
    standin.fail_next("/log_entries", 429, count=1)  # ratelimit-reset: 1 (second)
    report = await backfill(pd_client, BackfillRange(since=START, until=START + timedelta(days=1)))
    assert report.imported == 3
    limited = next(i for i, r in enumerate(standin.records) if r.status == 429)
    retry = next(r for r in standin.records[limited + 1:] if r.path.split("?")[0] == standin.records[limited]
                 .path.split("?")[0])
    assert retry.at - standin.records[limited].at >= 1.0
    assert retry.status == 200


async def test_rate_limited_past_the_last_try_stops_with_the_checkpoint_kept(pd_client, standin):
    seed(standin, 150, every=timedelta(minutes=5))
    standin.fail_next("/incidents?", 429, count=10, after=2, headers={"ratelimit-reset": "0"})  # count, page 1
    window = BackfillRange(since=START, until=START + timedelta(days=1))
    with pytest.raises(BackfillStopped, match="rate limited"):
        await backfill(pd_client, window)
    await pd_client.runtime.queue.drain()
    assert await count_rows(pd_client.runtime, "incidents") == 100
    standin.clear_failures()
    report = await backfill(pd_client, window)
    assert report.resumed_from is not None and (report.imported, report.finished) == (50, True)
    assert await count_rows(pd_client.runtime, "incidents") == 150


def run_cli(settings, standin, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **standin.env(), "LOOPGATE_DATABASE_URL": settings.database_url,
           "LOOPGATE_PAGERDUTY_BACKOFF_SECONDS": "0.01", "LOOPGATE_PAGERDUTY_REQUESTS_PER_MINUTE": "1000000",
           "LOOPGATE_JOB_CONCURRENCY": "8"}
    env.pop("LOOPGATE_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "app.cli", "backfill", "pagerduty", *args], capture_output=True,
                          text=True, env=env, timeout=1200)


async def test_2000_incidents_interrupted_halfway_and_resumed(settings, runtime, standin):
    # Every 3 hours from 2026-01-01: 250 days, so two listing windows (PagerDuty allows 6 months at a time).
    lifecycles = seed_light(standin, 2000)
    args = ("--since", "2026-01-01", "--until", "2026-12-01")
    # The two counts and ten pages go through; then listing fails past the client's last try.
    standin.fail_next("/incidents?", 503, count=1000, after=12)
    first = run_cli(settings, standin, *args)
    assert first.returncode == 1, first.stderr
    assert "stopped" in first.stderr and "run the same command again to resume" in first.stderr
    assert await count_rows(runtime, "incidents") == 1000
    standin.clear_failures()
    standin.reset_requests()
    started = time.monotonic()
    second = run_cli(settings, standin, *args)
    seconds = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stdout
    # The second run listed from the checkpoint: about half the history, not all of it.
    assert standin.count("is_overview=true") < 1100  # the backfill's reads (packets read log entries too)
    async with runtime.engine.connect() as connection:
        external_ids = (await connection.execute(sa.text("SELECT external_id FROM incidents"))).scalars().all()
        events = (await connection.execute(sa.text(
            "SELECT count(*), count(DISTINCT external_id) FROM inbound_events"))).one()
        unhandled = (await connection.execute(sa.text(
            "SELECT count(*) FROM inbound_events WHERE handled_at IS NULL"))).scalar_one()
    assert sorted(external_ids) == sorted(lc["incident"]["id"] for lc in lifecycles)  # 2,000, none twice
    expected = 3 * 2000  # triggered, acknowledged, resolved
    assert tuple(events) == (expected, expected)
    assert unhandled == 0
    assert await count_rows(runtime, "event_packets") == 2000
    print(f"\nbackfill resume: {second.stdout.strip()} (process {seconds:.1f} s)")


async def test_the_command_refuses_bad_ranges_and_a_missing_token(settings, standin):
    assert run_cli(settings, standin, "--since", "2026-02-01", "--until", "2026-01-01").returncode == 2
    assert run_cli(settings, standin, "--since", "2999-01-01").returncode == 2
    assert run_cli(settings, standin, "--since", "yesterday").returncode == 2
    env = {**os.environ, "LOOPGATE_DATABASE_URL": settings.database_url}
    env.pop("LOOPGATE_PAGERDUTY_API_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "app.cli", "backfill", "pagerduty", "--since", "2026-01-01"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "LOOPGATE_PAGERDUTY_API_TOKEN" in result.stderr


def test_history_events_have_stable_ids_and_the_statuses_in_order():
    lifecycle = make_lifecycle("QHIST", created_at=START)
    first = incident_events(lifecycle["incident"], lifecycle["log_entries"])
    again = incident_events(lifecycle["incident"], list(reversed(lifecycle["log_entries"])))
    assert [e.external_id for e in first] == [e.external_id for e in again]
    assert [e.event_type for e in first] == ["incident.triggered", "incident.acknowledged", "incident.annotated",
                                             "incident.escalated", "incident.reassigned", "incident.resolved"]
    statuses = [json.loads(e.body)["event"]["data"].get("status") for e in first]
    assert statuses == ["triggered", "acknowledged", None, "acknowledged", "acknowledged", "resolved"]


def test_an_incident_without_log_entries_still_gets_its_trigger_and_resolve():
    lifecycle = make_lifecycle("QBARE", created_at=START)
    events = incident_events(lifecycle["incident"], [])
    assert [e.event_type for e in events] == ["incident.triggered", "incident.resolved"]
    assert events[0].occurred_at == START
    assert events == incident_events(lifecycle["incident"], [])  # stable ids
