"""/metrics: the loop's gauges (set by a refresh, not by a scrape), webhook and job counters."""

import asyncio
import math
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.metrics.gauges import refresh
from app.metrics.measures import MEASURES, Kind
from app.runtime import JOBS
from tests.support.constants import ADMIN
from tests.support.metrics import NOW, History, history, store
from tests.support.pagerduty import fixture_bytes, post_delivery


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics exposes, by name and labels."""
    text = (await client.get("/metrics")).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def same(value: float, expected: float | None) -> bool:
    return math.isnan(value) if expected is None else value == expected


async def test_a_refresh_sets_every_measure_as_the_summary_reports_it(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())
    await refresh(runtime, now=NOW)
    samples = await scrape(client)

    # Hand-computed (tests/support/metrics.py): all time as in test_summary; the last 30 days of
    # resolves (G 5400, K2 1200, E 10800, F 86400) for the window.
    assert sample(samples, "loopgate_mttr_seconds", window="all", stat="median") == 3600.0
    assert sample(samples, "loopgate_mttr_seconds", window="all", stat="mean") == 14625.0
    assert sample(samples, "loopgate_mttr_seconds", window="all", stat="p90") == 86400.0
    assert sample(samples, "loopgate_measure_samples", measure="mttr", window="all") == 8
    assert sample(samples, "loopgate_mttr_seconds", window="30d", stat="median") == 5400.0
    assert sample(samples, "loopgate_mttr_seconds", window="30d", stat="mean") == 25950.0
    assert sample(samples, "loopgate_measure_samples", measure="mttr", window="30d") == 4
    assert sample(samples, "loopgate_voluntary_reporting_rate", window="all") == 0.3
    assert sample(samples, "loopgate_action_item_completion_rate", window="all") == 0.4
    assert sample(samples, "loopgate_measure_samples", measure="action_item_completion_rate", window="all") == 10
    assert sample(samples, "loopgate_action_item_completion_rate_by_priority", window="all", priority="P1") == 1.0
    assert sample(samples, "loopgate_action_item_completion_rate_by_priority", window="all", priority="P3") == 0.0
    assert sample(samples, "loopgate_completion_days", window="all", stat="mean") == 5.15625
    assert sample(samples, "loopgate_action_items_overdue") == 3
    assert sample(samples, "loopgate_backlog", kind="packets") == 1  # K1's v1 is pending
    assert sample(samples, "loopgate_backlog", kind="inbox") == 0
    assert sample(samples, "loopgate_backlog", kind="tickets") == 0
    assert sample(samples, "loopgate_job_queue_depth") == 0
    assert sample(samples, "loopgate_metrics_refreshed_timestamp_seconds") == NOW.timestamp()

    # Every other value equals the JSON API's, a null as NaN.
    for window, params in (("all", {}), ("30d", {"since": (NOW - timedelta(days=30)).isoformat()})):
        body = (await client.get("/api/v1/metrics/summary", headers=ADMIN, params=params)).json()
        for m in MEASURES:
            if m.kind is Kind.duration:
                name = "loopgate_completion_days" if m.name == "completion_days" else f"loopgate_{m.name}_seconds"
                for stat in ("mean", "median", "p90"):
                    assert same(sample(samples, name, window=window, stat=stat), body[m.name][stat]), (m.name, stat)
            else:
                assert same(sample(samples, f"loopgate_{m.name}", window=window), body[m.name]["value"]), m.name
    level = (await client.get("/api/v1/metrics/maturity", headers=ADMIN)).json()["level"]
    assert sample(samples, "loopgate_maturity_level") == level


async def test_a_scrape_reads_the_last_refresh_and_does_not_recompute(client, runtime, clock):
    clock.set(NOW)
    h = await store(runtime, History())
    await refresh(runtime, now=NOW)
    assert math.isnan(sample(await scrape(client), "loopgate_mttr_seconds", window="all", stat="median"))

    h = History()
    h.incident("A", "PS1", "PT1", "11-01 00:00", ack=60, resolved=600, severity="high")
    await store(runtime, h)
    assert math.isnan(sample(await scrape(client), "loopgate_mttr_seconds", window="all", stat="median"))

    await refresh(runtime, now=NOW)
    assert sample(await scrape(client), "loopgate_mttr_seconds", window="all", stat="median") == 600.0


async def test_an_older_refresh_that_finishes_last_does_not_overwrite_a_newer_one(client, runtime, clock):
    clock.set(NOW)
    h = History()
    h.incident("A", "PS1", "PT1", "11-01 00:00", ack=60, resolved=900, severity="high")
    slow_started = asyncio.Event()
    release = asyncio.Event()
    real_depth = runtime.queue.depth

    async def slow_depth() -> int:  # the older refresh stalls after it has read the empty database
        slow_started.set()
        await release.wait()
        return await real_depth()

    runtime.queue.depth = slow_depth  # type: ignore[method-assign]
    older = asyncio.create_task(refresh(runtime, now=NOW))
    await slow_started.wait()
    runtime.queue.depth = real_depth  # type: ignore[method-assign]
    await store(runtime, h)
    await refresh(runtime, now=NOW)
    release.set()
    await older
    assert sample(await scrape(client), "loopgate_mttr_seconds", window="all", stat="median") == 900.0


async def test_the_schedule_refreshes_the_gauges_without_a_request(settings, clock):
    clock.set(NOW)
    app = create_app(settings.model_copy(update={"metrics_refresh_seconds": 0.05}))
    async with app.router.lifespan_context(app):
        h = History()
        h.incident("A", "PS1", "PT1", "11-01 00:00", ack=60, resolved=1234, severity="high")
        await store(app.state.runtime, h)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loopgate.test") as http:
            for _ in range(200):
                value = sample(await scrape(http), "loopgate_mttr_seconds", window="all", stat="median")
                if value == 1234.0:
                    break
                await asyncio.sleep(0.05)
    assert value == 1234.0


async def test_webhook_deliveries_are_counted_by_source_and_outcome(client):
    def count(samples, outcome: str) -> float:
        return samples.get(("loopgate_webhook_deliveries_total", (("outcome", outcome), ("source", "pagerduty"))), 0)

    before = await scrape(client)
    raw = fixture_bytes("triggered_v3.json")
    await post_delivery(client, raw)
    await post_delivery(client, raw)
    await post_delivery(client, raw, signature="v1=forged")
    after = await scrape(client)
    assert {o: count(after, o) - count(before, o) for o in ("accepted", "duplicate", "unauthorized")} == {
        "accepted": 1, "duplicate": 1, "unauthorized": 1}


async def test_job_runs_and_failures_are_counted_by_job(client, runtime):
    def count(samples, name: str) -> float:
        return samples.get((name, (("job", "apply_inbox"),)), 0)

    before = await scrape(client)
    await post_delivery(client, fixture_bytes("triggered_v3.json"))
    await runtime.queue.drain()
    ran = await scrape(client)
    with pytest.raises(TypeError):
        await JOBS["apply_inbox"]({"runtime": None})
    failed = await scrape(client)
    assert count(ran, "loopgate_job_runs_total") - count(before, "loopgate_job_runs_total") == 1
    assert count(ran, "loopgate_job_failures_total") == count(before, "loopgate_job_failures_total")
    assert count(failed, "loopgate_job_failures_total") - count(ran, "loopgate_job_failures_total") == 1
    assert count(failed, "loopgate_job_duration_seconds_count") - count(before, "loopgate_job_duration_seconds_count") == 2
