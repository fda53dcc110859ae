"""GET /api/v1/metrics/summary over the hand-computed history of tests/support/metrics.py."""

import contextlib

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.metrics import service
from tests.conftest import BACKEND
from tests.support.constants import ADMIN
from tests.support.metrics import NOW, history, store

H = 3600.0
DAY = 86400.0


@pytest.fixture
async def summary(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())

    async def get(**params):
        response = await client.get("/api/v1/metrics/summary", headers=ADMIN, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    return get


def rate(numerator, denominator):
    return {"value": numerator / denominator if denominator else None, "numerator": numerator,
            "denominator": denominator}


def duration(mean, median, p90, count):
    return {"mean": mean, "median": median, "p90": p90, "count": count}


async def test_all_time(summary):
    body = await summary()
    # Resolved: K1 600, K2 1200, C 1800, A 3600, G 5400, B 7200, E 10800, F 86400 (sum 117000).
    # Nearest rank of 8: median = 4th, p90 = ⌈7.2⌉ = 8th.
    assert body["mttr"] == duration(14625.0, 3600.0, 86400.0, 8)
    # Acknowledged: 30, 45, 60, 100, 200, 300, 600, 900 (sum 2235).
    assert body["mtta"] == duration(279.375, 100.0, 900.0, 8)
    assert body["voluntary_reporting_rate"] == rate(3, 10)  # A, D, K1
    # Resolved with severity critical/high: A, B, E, F; in a published/closed postmortem: A, B (PM1), E (PM2).
    assert body["postmortem_completion_rate"] == rate(3, 4)
    # Packet v1 assembled (complete/partial): K2 60, F 300, A 600, G 1200, B 90000; E's v1 failed, K1's pending.
    assert body["time_to_packet"] == duration(18432.0, 600.0, 90000.0, 5)
    # SLA passed: A, B, C, G, E, K1, K2 (F's is due tomorrow); breached: B (late), C (no packet), E (failed), K1.
    assert body["packet_sla_breach_rate"] == rate(4, 7)
    # PM2 11-03 − E 11-01 03:00 = 45 h; PM5 10-04 − K1 10-02 00:10 = 47 h 50; PM1 10-08 − B 10-05 02:00 = 70 h.
    assert body["time_to_insight"] == duration(195400.0, 47 * H + 50 * 60, 70 * H, 3)
    # Completed I1, I2, I4, I8 of 10 (wont_do I3, I9 stay in the denominator).
    assert body["action_item_completion_rate"] == {
        **rate(4, 10), "by_priority": {"P1": rate(2, 2), "P2": rate(2, 4), "P3": rate(0, 4)}}
    # I1 a day early, I2 at 23:00 on its due date, I8 early; I4 two days late.
    assert body["on_time_rate"] == rate(3, 4)
    # I8 48 h, I1 74 h, I2 157 h, I4 216 h → mean 495/96 days.
    assert body["completion_days"] == duration(5.15625, round(74 / 24, 6), 9.0, 4)
    # Open past due today (11-22): I5 (11-15), I6 (10-13, in progress), I10 (10-01); not I7 (11-30).
    assert body["overdue"] == {"count": 3}
    # Only PM1 has every item completed or wont_do: last fix 10-12 23:00 − published 10-08 00:00 = 119 h;
    # − A triggered 10-01 00:00 = 287 h. (PM2 and PM5 still have open items.)
    assert body["time_to_remediation"] == duration(119 * H, 119 * H, 119 * H, 1)
    assert body["incident_to_improvement"] == duration(287 * H, 287 * H, 287 * H, 1)
    assert body["repeat_incident_rate"] == rate(6, 10)  # B, C, G, E, H, K2
    # K2: PM5's items as they stood on 10-28: I8 completed, I9 wont_do (I10 came later). C: I2 not yet done.
    assert body["recurred_after_remediation"] == rate(1, 6)
    # C: I3 due 10-08, closed only on 10-14; G: I6 due 10-13, open; H: I5 due 11-15, open.
    # Not K2: I9 was closed before it, I10 did not exist yet.
    assert body["recurred_while_overdue"] == rate(3, 6)
    assert body["window"] == {"since": None, "until": None, "service": None, "team": None}


async def test_window_boundaries(summary):
    # since inclusive (B triggered at 10-05 00:00 is in), until exclusive (E at 11-01 00:00 is out).
    body = await summary(since="2026-10-05T00:00:00Z", until="2026-11-01T00:00:00Z")
    assert body["mttr"] == duration(3900.0, 1800.0, 7200.0, 4)  # K2 1200, C 1800, G 5400, B 7200
    assert body["mtta"] == duration(411.25, 100.0, 900.0, 4)  # K2 45, D 100, B 600, G 900
    assert body["voluntary_reporting_rate"] == rate(1, 5)  # B, C, D, G, K2: D
    assert body["repeat_incident_rate"] == rate(4, 5)
    assert body["recurred_after_remediation"] == rate(1, 4)  # K2 of B, C, G, K2
    assert body["recurred_while_overdue"] == rate(2, 4)  # C, G
    # Anchored on resolved_at: B (high) is the only required one resolved in the window.
    assert body["postmortem_completion_rate"] == rate(1, 1)
    assert body["time_to_packet"] == duration(30420.0, 1200.0, 90000.0, 3)  # K2, G, B
    assert body["packet_sla_breach_rate"] == rate(2, 4)  # B, C breached; G, K2 on time
    assert body["time_to_insight"] == duration(70 * H, 70 * H, 70 * H, 1)  # PM1 published 10-08
    # Created in the window: I1, I2, I3, I6, I7, I10.
    assert body["action_item_completion_rate"] == {
        **rate(2, 6), "by_priority": {"P1": rate(1, 1), "P2": rate(1, 2), "P3": rate(0, 3)}}
    assert body["on_time_rate"] == rate(2, 2)
    assert body["completion_days"] == duration(4.8125, round(74 / 24, 6), round(157 / 24, 6), 2)
    assert body["overdue"] == {"count": 3}  # about now: the window does not apply
    assert body["time_to_remediation"]["count"] == 1


async def test_an_empty_window_answers_nulls_and_zeros(summary):
    body = await summary(since="2027-01-01T00:00:00Z")
    assert body["mttr"] == duration(None, None, None, 0)
    assert body["repeat_incident_rate"] == rate(0, 0)
    assert body["action_item_completion_rate"]["by_priority"]["P1"] == rate(0, 0)
    assert body["overdue"] == {"count": 3}


async def test_service_and_team_filters(summary):
    checkout = await summary(service="checkout")  # by name: A, B, C, G, F
    assert checkout["mttr"] == duration(20880.0, 5400.0, 86400.0, 5)
    # Items of the postmortems over checkout incidents (PM1, PM4, PM3): I1, I2, I3, I6, I7.
    assert checkout["action_item_completion_rate"]["numerator"] == 2
    assert checkout["action_item_completion_rate"]["denominator"] == 5
    assert checkout["overdue"] == {"count": 1}  # I6
    assert (await summary(service="PSVC1"))["mttr"] == checkout["mttr"]  # by id

    search_team = await summary(team="PTEAM2")  # D, E, H, K1, K2
    assert search_team["voluntary_reporting_rate"] == rate(2, 5)
    assert search_team["repeat_incident_rate"] == rate(3, 5)
    assert search_team["overdue"] == {"count": 2}  # I5 (PM2), I10 (PM5)
    assert await summary(team="Search team") == {**search_team, "window": {**search_team["window"],
                                                                            "team": "Search team"}}


async def test_bad_filters_are_refused_with_json(client):
    response = await client.get("/api/v1/metrics/summary", headers=ADMIN, params={"since": "last tuesday"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert (await client.get("/api/v1/metrics/summary")).status_code == 401


async def test_a_session_on_one_connection_gets_the_same_summary(summary, runtime, settings):
    """The measures run side by side on connections of their own when the session has an engine;
    a session bound to one connection (inside a caller's transaction) runs them there, with the
    same answer."""
    served = await summary()
    scope = service.scope_for(settings, now=clock.now())
    async with runtime.engine.connect() as connection, AsyncSession(connection) as session:
        alone = await service.summary(session, scope=scope)
    assert alone == {k: v for k, v in served.items() if k not in ("window", "generated_at")}


async def test_a_measure_with_nothing_to_count_beside_others_of_its_query_is_empty(summary):
    """Measures over the same rows are computed in one query; one that has no sample in a window
    where the others have rows answers as an empty window does."""
    # Triggered on 11-20: only H (a repeat of E), neither acknowledged nor resolved; PM2's I5 was open, past due.
    h = await summary(since="2026-11-20T00:00:00Z", until="2026-11-21T00:00:00Z")
    assert h["mttr"] == h["mtta"] == duration(None, None, None, 0)
    assert h["voluntary_reporting_rate"] == rate(0, 1)
    assert h["repeat_incident_rate"] == rate(1, 1)
    assert h["recurred_after_remediation"] == rate(0, 1)
    assert h["recurred_while_overdue"] == rate(1, 1)
    # Resolved on 11-01: only E (critical, in PM2), whose packet v1 failed.
    e = await summary(since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z")
    assert e["time_to_packet"] == duration(None, None, None, 0)
    assert e["postmortem_completion_rate"] == rate(1, 1)
    assert e["packet_sla_breach_rate"] == rate(1, 1)
    # Published on 11-03: only PM2 (E resolved 11-01 03:00: 45 h), with I5 still open: not remediated.
    pm2 = await summary(since="2026-11-03T00:00:00Z", until="2026-11-04T00:00:00Z")
    assert pm2["time_to_insight"] == duration(45 * H, 45 * H, 45 * H, 1)
    assert pm2["time_to_remediation"] == pm2["incident_to_improvement"] == duration(None, None, None, 0)
    # Created on 10-11: I6 (P3, in progress) and I7 (P2, blocked), neither completed.
    items = await summary(since="2026-10-11T00:00:00Z", until="2026-10-12T00:00:00Z")
    assert items["action_item_completion_rate"] == {
        **rate(0, 2), "by_priority": {"P1": rate(0, 0), "P2": rate(0, 1), "P3": rate(0, 1)}}
    assert items["on_time_rate"] == rate(0, 0)
    assert items["completion_days"] == duration(None, None, None, 0)


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's session settings; SQLite has none of these")
async def test_the_metrics_settings_last_only_as_long_as_a_query(summary, runtime):
    """On PostgreSQL a summary's queries run with more work_mem and no parallel workers (service.tune),
    set for their own transaction only: the pool's connections keep the server's settings."""
    async with runtime.sessionmaker() as session:
        before = (await session.execute(sa.text("SHOW work_mem"))).scalar_one()
        await service.tune(session)
        assert (await session.execute(sa.text("SHOW work_mem"))).scalar_one() == service.WORK_MEM
        assert (await session.execute(sa.text("SHOW max_parallel_workers_per_gather"))).scalar_one() == "0"
    assert before != service.WORK_MEM
    await summary()
    async with contextlib.AsyncExitStack() as stack:  # every connection the summary used, at once
        for _ in range(service.QUERY_CONCURRENCY):
            session = await stack.enter_async_context(runtime.sessionmaker())
            assert (await session.execute(sa.text("SHOW work_mem"))).scalar_one() == before
