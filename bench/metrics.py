"""Benchmark GET /api/v1/metrics/summary against hand-written SQL for the same measures (issue 12).

    python scripts/testenv.py -- .venv/bin/python bench/metrics.py                 # seed, measure
    python scripts/testenv.py -- .venv/bin/python bench/metrics.py --reuse --explain 3
    .venv/bin/python bench/metrics.py --targets sqlite:1.0

Per target (`postgres:1.0`, `postgres:0.1`, `sqlite:1.0` by default; `KIND:SCALE`), a
database seeded by bench/seed_metrics.py (scale 1.0 = 100,000 incidents, 20,000
postmortems, 100,000 findings, 300,000 action items); `--reuse` keeps one already seeded
with the same scale (PostgreSQL: database `loopgate_bench_metrics_<scale>` next to
LOOPGATE_TEST_POSTGRES_URL; SQLite: `--sqlite-dir`/metrics-<scale>.db).

In one process, on one event loop, inside the real app's lifespan
(`app.main.create_app(Settings(database_url=..., admin_token=...))`):

- subject: `GET /api/v1/metrics/summary` with the admin bearer token, over
  `httpx.ASGITransport` (no network, no server process);
- baseline: the same measures written by hand as plain SQL (one query per measure, per
  dialect, in BASELINE_PG / BASELINE_SQLITE below, from DESIGN §5/§10), run with
  `AsyncSession.execute(text(...))` on the app's own engine, one session per repetition,
  with the session settings the app's metrics queries get (`app.metrics.service.tune`: on
  PostgreSQL `work_mem` and no parallel workers, for the transaction), like for like;
  `--baseline-untuned` leaves the database's defaults.

They alternate (which goes first alternates too), `--repeat` times after one warm-up of
each; medians and minimums are reported. The baseline's figures are checked against the
API's answer: counts, numerators and denominators exactly, durations to 1e-3.
Per family (default on; `--no-per-family`), each family of measures alone: the app's one
query (`app.metrics.service._family`, and `overdue`) against the baseline's queries for the
same measures, alternating. `--explain N` prints EXPLAIN (ANALYZE, BUFFERS) of the app's N
slowest family queries on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_metrics
from harness import ADMIN_TOKEN, ROOT, markdown, section_head, write_docs, write_json

SECTION = "## Metrics: GET /api/v1/metrics/summary"
PACKAGES = ("fastapi", "sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg", "httpx")
DEFAULT_TARGETS = "postgres:1.0,postgres:0.1,sqlite:1.0"

DURATIONS = ("mttr", "mtta", "time_to_packet", "time_to_insight", "completion_days", "time_to_remediation",
             "incident_to_improvement")
RATES = ("voluntary_reporting_rate", "postmortem_completion_rate", "packet_sla_breach_rate", "on_time_rate",
         "repeat_incident_rate", "recurred_after_remediation", "recurred_while_overdue")

# --------------------------------------------------------------------------- the baseline, by hand
# Parameters: :now (the moment), :today (its UTC date), :sla_hours. Severities come from Settings.
# Durations answer (count, mean, median, p90) with nearest-rank median/p90; rates (numerator,
# denominator); action_item_completion_rate (priority, numerator, denominator) per priority;
# overdue (count).


# Each repeat joined with the action items that existed when it triggered, of the postmortems
# covering its earlier incident (set-based: one join, not a probe per repeat).
REPEAT_ITEMS = ("FROM incidents r JOIN postmortem_incidents pi ON pi.incident_id = r.repeat_of_id "
                "JOIN findings f ON f.postmortem_id = pi.postmortem_id "
                "JOIN action_items a ON a.finding_id = f.id AND a.created_at < r.triggered_at "
                "WHERE r.triggered_at IS NOT NULL")
REPEATS = "FROM incidents i WHERE i.repeat_of_id IS NOT NULL AND i.triggered_at IS NOT NULL"


def _repeat_rate(qualifying: str) -> str:
    return f"SELECT count(*) FILTER (WHERE i.id IN ({qualifying})), count(*) {REPEATS}"


def _pg_duration(values: str) -> str:
    # percentile_disc(p) is the first value whose cumulative share reaches p: position ceil(p·n).
    return (f"SELECT count(*), avg(v), percentile_disc(0.5) WITHIN GROUP (ORDER BY v), "
            f"percentile_disc(0.9) WITHIN GROUP (ORDER BY v) FROM ({values}) AS s")


def _sqlite_duration(values: str) -> str:
    return (f"WITH s AS MATERIALIZED ({values}), n AS (SELECT count(*) AS n FROM s) "
            "SELECT (SELECT n FROM n), (SELECT avg(v) FROM s), "
            "(SELECT v FROM s ORDER BY v LIMIT 1 OFFSET (SELECT (n + 1) / 2 - 1 FROM n)), "
            "(SELECT v FROM s ORDER BY v LIMIT 1 OFFSET (SELECT (9 * n + 9) / 10 - 1 FROM n))")


def baseline_pg(severities: tuple[str, ...]) -> dict[str, str]:
    sev = ", ".join(f"'{s}'" for s in severities)
    items_of_pm = REPEAT_ITEMS
    remediated = ("SELECT f.postmortem_id, max(a.completed_at) AS done FROM action_items a "
                  "JOIN findings f ON f.id = a.finding_id GROUP BY f.postmortem_id "
                  "HAVING bool_and(a.status IN ('completed', 'wont_do')) AND bool_or(a.status = 'completed')")
    return {
        "mttr": _pg_duration("SELECT EXTRACT(EPOCH FROM resolved_at - triggered_at) AS v FROM incidents "
                             "WHERE resolved_at IS NOT NULL AND triggered_at IS NOT NULL"),
        "mtta": _pg_duration("SELECT EXTRACT(EPOCH FROM acknowledged_at - triggered_at) AS v FROM incidents "
                             "WHERE acknowledged_at IS NOT NULL AND triggered_at IS NOT NULL"),
        "voluntary_reporting_rate": "SELECT count(*) FILTER (WHERE reported_by = 'human'), count(*) "
                                    "FROM incidents WHERE triggered_at IS NOT NULL",
        "postmortem_completion_rate": (
            "SELECT count(l.incident_id), count(*) FROM incidents i LEFT JOIN ("
            "SELECT DISTINCT pi.incident_id FROM postmortem_incidents pi JOIN postmortems p ON p.id = pi.postmortem_id "
            "WHERE p.status IN ('published', 'closed')) l ON l.incident_id = i.id "
            f"WHERE i.severity IN ({sev}) AND i.resolved_at IS NOT NULL"),
        "time_to_packet": _pg_duration(
            "SELECT EXTRACT(EPOCH FROM p.assembled_at - i.resolved_at) AS v FROM incidents i "
            "JOIN event_packets p ON p.incident_id = i.id AND p.version = 1 "
            "WHERE i.resolved_at IS NOT NULL AND p.status IN ('complete', 'partial') AND p.assembled_at IS NOT NULL"),
        "packet_sla_breach_rate": (
            "SELECT count(*) FILTER (WHERE p.assembled_at IS NULL OR p.status NOT IN ('complete', 'partial') "
            "OR p.assembled_at > d.due), count(*) FROM incidents i "
            "LEFT JOIN event_packets p ON p.incident_id = i.id AND p.version = 1 "
            "CROSS JOIN LATERAL (SELECT coalesce(p.sla_due_at, i.resolved_at + make_interval(hours => :sla_hours)) "
            "AS due) d WHERE i.resolved_at IS NOT NULL AND d.due <= :now"),
        "time_to_insight": _pg_duration(
            "SELECT EXTRACT(EPOCH FROM p.published_at - l.resolved) AS v FROM postmortems p JOIN ("
            "SELECT pi.postmortem_id, max(i.resolved_at) AS resolved FROM postmortem_incidents pi "
            "JOIN incidents i ON i.id = pi.incident_id GROUP BY pi.postmortem_id) l ON l.postmortem_id = p.id "
            "WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL AND l.resolved IS NOT NULL"),
        "action_item_completion_rate": (
            "SELECT a.priority, count(*) FILTER (WHERE a.status = 'completed'), count(*) FROM action_items a "
            "WHERE a.created_at IS NOT NULL GROUP BY a.priority"),
        "on_time_rate": (
            "SELECT count(*) FILTER (WHERE (a.completed_at AT TIME ZONE 'UTC')::date <= a.due_date), count(*) "
            "FROM action_items a "
            "WHERE a.status = 'completed' AND a.completed_at IS NOT NULL AND a.created_at IS NOT NULL"),
        "completion_days": _pg_duration(
            "SELECT EXTRACT(EPOCH FROM a.completed_at - a.created_at) / 86400.0 AS v FROM action_items a "
            "WHERE a.status = 'completed' AND a.completed_at IS NOT NULL AND a.created_at IS NOT NULL"),
        "time_to_remediation": _pg_duration(
            f"SELECT EXTRACT(EPOCH FROM r.done - p.published_at) AS v FROM postmortems p JOIN ({remediated}) r "
            "ON r.postmortem_id = p.id WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL"),
        "incident_to_improvement": _pg_duration(
            f"SELECT EXTRACT(EPOCH FROM r.done - e.first) AS v FROM postmortems p JOIN ({remediated}) r "
            "ON r.postmortem_id = p.id JOIN (SELECT pi.postmortem_id, min(i.triggered_at) AS first "
            "FROM postmortem_incidents pi JOIN incidents i ON i.id = pi.incident_id GROUP BY pi.postmortem_id) e "
            "ON e.postmortem_id = p.id WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL "
            "AND e.first IS NOT NULL"),
        "repeat_incident_rate": "SELECT count(repeat_of_id), count(*) FROM incidents WHERE triggered_at IS NOT NULL",
        "recurred_after_remediation": _repeat_rate(
            f"SELECT r.id {items_of_pm} GROUP BY r.id, pi.postmortem_id "
            "HAVING bool_or(a.status = 'completed' AND a.completed_at < r.triggered_at) "
            "AND NOT coalesce(bool_or(a.status <> 'wont_do' AND NOT (a.status = 'completed' "
            "AND a.completed_at < r.triggered_at)), false)"),
        "recurred_while_overdue": _repeat_rate(
            f"SELECT r.id {items_of_pm} AND a.due_date < (r.triggered_at AT TIME ZONE 'UTC')::date "
            "AND (a.closed_at IS NULL OR a.closed_at > r.triggered_at)"),
        "overdue": ("SELECT count(*) FROM action_items a "
                    "WHERE a.status IN ('open', 'in_progress', 'blocked') AND a.due_date < :today"),
    }


def baseline_sqlite(severities: tuple[str, ...]) -> dict[str, str]:
    sev = ", ".join(f"'{s}'" for s in severities)
    secs = "(julianday({b}) - julianday({a})) * 86400.0"
    items_of_pm = REPEAT_ITEMS
    remediated = ("SELECT f.postmortem_id, max(a.completed_at) AS done FROM action_items a "
                  "JOIN findings f ON f.id = a.finding_id GROUP BY f.postmortem_id "
                  "HAVING min(a.status IN ('completed', 'wont_do')) = 1 AND max(a.status = 'completed') = 1")
    return {
        "mttr": _sqlite_duration(f"SELECT {secs.format(a='triggered_at', b='resolved_at')} AS v FROM incidents "
                                 "WHERE resolved_at IS NOT NULL AND triggered_at IS NOT NULL"),
        "mtta": _sqlite_duration(f"SELECT {secs.format(a='triggered_at', b='acknowledged_at')} AS v FROM incidents "
                                 "WHERE acknowledged_at IS NOT NULL AND triggered_at IS NOT NULL"),
        "voluntary_reporting_rate": "SELECT count(*) FILTER (WHERE reported_by = 'human'), count(*) "
                                    "FROM incidents WHERE triggered_at IS NOT NULL",
        "postmortem_completion_rate": (
            "SELECT count(l.incident_id), count(*) FROM incidents i LEFT JOIN ("
            "SELECT DISTINCT pi.incident_id FROM postmortem_incidents pi JOIN postmortems p ON p.id = pi.postmortem_id "
            "WHERE p.status IN ('published', 'closed')) l ON l.incident_id = i.id "
            f"WHERE i.severity IN ({sev}) AND i.resolved_at IS NOT NULL"),
        "time_to_packet": _sqlite_duration(
            f"SELECT {secs.format(a='i.resolved_at', b='p.assembled_at')} AS v FROM incidents i "
            "JOIN event_packets p ON p.incident_id = i.id AND p.version = 1 "
            "WHERE i.resolved_at IS NOT NULL AND p.status IN ('complete', 'partial') AND p.assembled_at IS NOT NULL"),
        "packet_sla_breach_rate": (
            "SELECT count(*) FILTER (WHERE p.assembled_at IS NULL OR p.status NOT IN ('complete', 'partial') "
            "OR julianday(p.assembled_at) > due), count(*) FROM (SELECT p.assembled_at, p.status, "
            "coalesce(julianday(p.sla_due_at), julianday(i.resolved_at) + :sla_hours / 24.0) AS due "
            "FROM incidents i LEFT JOIN event_packets p ON p.incident_id = i.id AND p.version = 1 "
            "WHERE i.resolved_at IS NOT NULL) p WHERE due <= julianday(:now)"),
        "time_to_insight": _sqlite_duration(
            f"SELECT {secs.format(a='l.resolved', b='p.published_at')} AS v FROM postmortems p JOIN ("
            "SELECT pi.postmortem_id, max(i.resolved_at) AS resolved FROM postmortem_incidents pi "
            "JOIN incidents i ON i.id = pi.incident_id GROUP BY pi.postmortem_id) l ON l.postmortem_id = p.id "
            "WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL AND l.resolved IS NOT NULL"),
        "action_item_completion_rate": (
            "SELECT a.priority, count(*) FILTER (WHERE a.status = 'completed'), count(*) FROM action_items a "
            "WHERE a.created_at IS NOT NULL GROUP BY a.priority"),
        "on_time_rate": (
            "SELECT count(*) FILTER (WHERE date(a.completed_at) <= a.due_date), count(*) "
            "FROM action_items a "
            "WHERE a.status = 'completed' AND a.completed_at IS NOT NULL AND a.created_at IS NOT NULL"),
        "completion_days": _sqlite_duration(
            f"SELECT {secs.format(a='a.created_at', b='a.completed_at')} / 86400.0 AS v FROM action_items a "
            "WHERE a.status = 'completed' AND a.completed_at IS NOT NULL AND a.created_at IS NOT NULL"),
        "time_to_remediation": _sqlite_duration(
            f"SELECT {secs.format(a='p.published_at', b='r.done')} AS v FROM postmortems p JOIN ({remediated}) r "
            "ON r.postmortem_id = p.id WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL"),
        "incident_to_improvement": _sqlite_duration(
            f"SELECT {secs.format(a='e.first', b='r.done')} AS v FROM postmortems p JOIN ({remediated}) r "
            "ON r.postmortem_id = p.id JOIN (SELECT pi.postmortem_id, min(i.triggered_at) AS first "
            "FROM postmortem_incidents pi JOIN incidents i ON i.id = pi.incident_id GROUP BY pi.postmortem_id) e "
            "ON e.postmortem_id = p.id WHERE p.status IN ('published', 'closed') AND p.published_at IS NOT NULL "
            "AND e.first IS NOT NULL"),
        "repeat_incident_rate": "SELECT count(repeat_of_id), count(*) FROM incidents WHERE triggered_at IS NOT NULL",
        "recurred_after_remediation": _repeat_rate(
            f"SELECT r.id {items_of_pm} GROUP BY r.id, pi.postmortem_id "
            "HAVING max(a.status = 'completed' AND a.completed_at < r.triggered_at) = 1 "
            "AND coalesce(max(a.status <> 'wont_do' AND NOT (a.status = 'completed' "
            "AND a.completed_at < r.triggered_at)), 0) = 0"),
        "recurred_while_overdue": _repeat_rate(
            f"SELECT r.id {items_of_pm} AND a.due_date < date(r.triggered_at) "
            "AND (a.closed_at IS NULL OR a.closed_at > r.triggered_at)"),
        "overdue": ("SELECT count(*) FROM action_items a "
                    "WHERE a.status IN ('open', 'in_progress', 'blocked') AND a.due_date < :today"),
    }


def baseline_params(dialect: str, now: dt.datetime, sla_hours: int) -> dict[str, Any]:
    if dialect == "postgresql":
        return {"now": now, "today": now.astimezone(dt.UTC).date(), "sla_hours": sla_hours}
    return {"now": now.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "today": now.astimezone(dt.UTC).date().isoformat(), "sla_hours": sla_hours}


def _float(value: Any) -> float | None:
    return None if value is None else float(value) if isinstance(value, Decimal) else value


async def run_baseline_query(session: Any, name: str, sql: str, params: dict[str, Any]) -> Any:
    from sqlalchemy import text

    used = {k: v for k, v in params.items() if f":{k}" in sql}
    rows = (await session.execute(text(sql), used)).all()
    if name == "action_item_completion_rate":
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}
    row = rows[0]
    if name in DURATIONS:
        return {"count": int(row[0]), "mean": _float(row[1]), "median": _float(row[2]), "p90": _float(row[3])}
    if name == "overdue":
        return {"count": int(row[0])}
    return {"numerator": int(row[0] or 0), "denominator": int(row[1])}


async def run_baseline(sessionmaker: Any, queries: dict[str, str], params: dict[str, Any], *,
                       tuned: bool) -> dict[str, Any]:
    from app.metrics import service

    async with sessionmaker() as session:
        if tuned:  # the session settings the app's metrics queries run with (service.tune)
            await service.tune(session)
        return {name: await run_baseline_query(session, name, sql, params) for name, sql in queries.items()}


# --------------------------------------------------------------------------- the comparison


def compare(api: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Every difference between the API's summary and the baseline, as text (empty: they agree)."""
    problems: list[str] = []

    def close(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return abs(float(a) - float(b)) <= 1e-3

    for name in DURATIONS:
        got, want = api[name], base[name]
        if got["count"] != want["count"]:
            problems.append(f"{name}.count: API {got['count']} vs baseline {want['count']}")
        for key in ("mean", "median", "p90"):
            if not close(got[key], want[key]):
                problems.append(f"{name}.{key}: API {got[key]} vs baseline {want[key]}")
    for name in RATES:
        got, want = api[name], base[name]
        for key in ("numerator", "denominator"):
            if got[key] != want[key]:
                problems.append(f"{name}.{key}: API {got[key]} vs baseline {want[key]}")
    got = api["action_item_completion_rate"]
    per = base["action_item_completion_rate"]
    total = (sum(n for n, _ in per.values()), sum(d for _, d in per.values()))
    if (got["numerator"], got["denominator"]) != total:
        problems.append(f"action_item_completion_rate: API {got['numerator']}/{got['denominator']} vs baseline "
                        f"{total[0]}/{total[1]}")
    for priority, rate in got["by_priority"].items():
        want = per.get(priority, (0, 0))
        if (rate["numerator"], rate["denominator"]) != want:
            problems.append(f"action_item_completion_rate.by_priority.{priority}: API "
                            f"{rate['numerator']}/{rate['denominator']} vs baseline {want[0]}/{want[1]}")
    if api["overdue"]["count"] != base["overdue"]["count"]:
        problems.append(f"overdue.count: API {api['overdue']['count']} vs baseline {base['overdue']['count']}")
    return problems


# --------------------------------------------------------------------------- databases


def scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


def target_url(kind: str, scale: float, options: argparse.Namespace) -> str:
    if kind == "postgres":
        test_url = os.environ.get("LOOPGATE_TEST_POSTGRES_URL")
        if not test_url:
            raise SystemExit("postgres targets need LOOPGATE_TEST_POSTGRES_URL (run under scripts/testenv.py)")
        return test_url.rsplit("/", 1)[0] + f"/loopgate_bench_metrics_{scale_tag(scale)}"
    return f"sqlite+aiosqlite:///{Path(options.sqlite_dir).resolve()}/metrics-{scale_tag(scale)}.db"


def ensure_seeded(url: str, scale: float, options: argparse.Namespace) -> dict[str, Any]:
    """Seed afresh, or with --reuse keep a database that already holds this scale's incidents."""
    expected = seed_metrics.counts_for(scale)["incidents"]
    if options.reuse:
        try:
            found = asyncio.run(seed_metrics.incident_count(url))
        except Exception:
            found = None
        if found == expected:
            print(f"reusing {url} ({found:,} incidents)", flush=True)
            return {"reused": True}
        print(f"{url}: {found} incidents, not {expected:,}: seeding it", flush=True)
    return seed_metrics.seed(url, scale=scale, seed_value=options.seed, recreate=True)


# --------------------------------------------------------------------------- measuring


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


async def measure_target(kind: str, scale: float, url: str, options: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from app.core import clock
    from app.core.settings import Settings
    from app.main import create_app
    from app.metrics import service
    from app.metrics.measures import MEASURES, overdue

    if kind == "postgres":
        await pg_settings(url, options.pg_set)
    elif options.sqlite_analyze:
        import sqlite3

        connection = sqlite3.connect(url.split(":///", 1)[1])
        connection.execute("ANALYZE")
        connection.close()
        print(f"[{kind} {scale:g}] ran ANALYZE on the SQLite file (the app never does)", flush=True)
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    dialect = "postgresql" if kind == "postgres" else "sqlite"
    severities = tuple(settings.postmortem_required_severities)
    queries = baseline_pg(severities) if dialect == "postgresql" else baseline_sqlite(severities)
    result: dict[str, Any] = {"target": kind, "scale": scale, "url": url}
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers=headers, timeout=600) as client:

            async def subject() -> tuple[float, dict[str, Any]]:
                t0 = time.perf_counter()
                response = await client.get("/api/v1/metrics/summary")
                elapsed = time.perf_counter() - t0
                response.raise_for_status()
                return elapsed, response.json()

            async def baseline(now: dt.datetime) -> tuple[float, dict[str, Any]]:
                params = baseline_params(dialect, now, settings.packet_sla_hours)
                t0 = time.perf_counter()
                answer = await run_baseline(runtime.sessionmaker, queries, params, tuned=options.baseline_tuned)
                return time.perf_counter() - t0, answer

            # warm-up (not counted), then the check: the baseline at the API's own `generated_at`
            _, api = await subject()
            generated_at = dt.datetime.fromisoformat(api["generated_at"].replace("Z", "+00:00"))
            _, base = await baseline(generated_at)
            problems = compare(api, base)
            result["mismatches"] = problems
            result["api"] = {k: v for k, v in api.items() if k not in ("window",)}
            result["baseline"] = base
            print(f"[{kind} {scale:g}] check: " + ("API and baseline agree" if not problems
                                                  else f"{len(problems)} MISMATCH(ES)"), flush=True)
            for problem in problems:
                print(f"    {problem}", flush=True)

            times: dict[str, list[float]] = {"subject": [], "baseline": []}
            for i in range(options.repeat):
                order = ("subject", "baseline") if i % 2 == 0 else ("baseline", "subject")
                for which in order:
                    if which == "subject":
                        elapsed, _ = await subject()
                    else:
                        elapsed, _ = await baseline(clock.now())
                    times[which].append(elapsed)
                print(f"[{kind} {scale:g}] rep {i + 1}/{options.repeat}: subject {times['subject'][-1] * 1000:.0f} ms, "
                      f"baseline {times['baseline'][-1] * 1000:.0f} ms", flush=True)
            result["subject"] = stats(times["subject"])
            result["baseline_times"] = stats(times["baseline"])
            result["subject_all_ms"] = [round(t * 1000, 1) for t in times["subject"]]
            result["baseline_all_ms"] = [round(t * 1000, 1) for t in times["baseline"]]

        if options.per_family:
            result["per_family"] = await per_family(runtime, settings, queries, dialect, options)
        if options.explain and dialect == "postgresql" and result.get("per_family"):
            result["explain"] = await explain(runtime, settings, result["per_family"], options.explain)
    _ = (service, MEASURES, overdue)
    result["baseline_tuned"] = options.baseline_tuned
    result["pg_set"] = list(options.pg_set) if kind == "postgres" else []
    result["sqlite_analyze"] = kind == "sqlite" and options.sqlite_analyze
    return result


async def pg_settings(url: str, pairs: list[str]) -> None:
    """`ALTER DATABASE <the bench database> RESET ALL`, then `SET name = value` for each pair: the
    app's connections (opened after this) start with them. An experiment on the benchmark's own
    database, not a change to the app."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(seed_metrics._pg_dsn(url))
    try:
        await connection.execute(f'ALTER DATABASE "{name}" RESET ALL')
        for pair in pairs:
            key, _, value = pair.partition("=")
            if not key.replace("_", "").isalnum():
                raise SystemExit(f"bad --pg-set {pair!r}")
            await connection.execute(f'ALTER DATABASE "{name}" SET {key} = {value}')
    finally:
        await connection.close()


async def per_family(runtime: Any, settings: Any, queries: dict[str, str], dialect: str,
                     options: argparse.Namespace) -> list[dict[str, Any]]:
    """Each family of measures alone: the app's one query against the baseline's queries for the
    same measures (one after another in one session), alternating, `--measure-repeat` times."""
    from app.core import clock
    from app.metrics import service
    from app.metrics.measures import FAMILIES, overdue

    rows = []
    for family in [*FAMILIES, None]:
        name = family.name if family else "overdue"
        names = [m.name for m in family.measures] if family else ["overdue"]
        app_times, base_times = [], []
        for i in range(options.measure_repeat + 1):  # the first round is a warm-up
            now = clock.now()
            scope = service.scope_for(settings, now=now)
            params = baseline_params(dialect, now, settings.packet_sla_hours)
            for which in (("app", "base") if i % 2 == 0 else ("base", "app")):
                async with runtime.sessionmaker() as session:
                    t0 = time.perf_counter()
                    if which == "app":
                        await service.tune(session)
                        if family is None:
                            (await session.execute(overdue(scope))).scalar_one()
                        else:
                            await service._family(session, family, scope)
                    else:
                        if options.baseline_tuned:
                            await service.tune(session)
                        for measure in names:
                            await run_baseline_query(session, measure, queries[measure], params)
                    elapsed = time.perf_counter() - t0
                if i:
                    (app_times if which == "app" else base_times).append(elapsed)
        row = {"family": name, "measures": names, "app_ms": statistics.median(app_times) * 1000,
               "baseline_ms": statistics.median(base_times) * 1000}
        rows.append(row)
        print(f"    {name:26s} app {row['app_ms']:8.1f} ms   baseline {row['baseline_ms']:8.1f} ms", flush=True)
    return rows


async def explain(runtime: Any, settings: Any, per: list[dict[str, Any]], top: int) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the app's `top` slowest family queries (PostgreSQL), tuned as
    the app runs them."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from app.core import clock
    from app.metrics import service
    from app.metrics.measures import FAMILIES, overdue

    scope = service.scope_for(settings, now=clock.now())
    plans = {}
    for row in sorted(per, key=lambda r: -r["app_ms"])[:top]:
        name = row["family"]
        family = next((f for f in FAMILIES if f.name == name), None)
        statement = overdue(scope) if family is None else service.statement(family, scope, dialect="postgresql")
        sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        async with runtime.sessionmaker() as session:
            await service.tune(session)
            lines = (await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))).scalars().all()
        plans[name] = "\n".join(lines)
        print(f"\n--- EXPLAIN ANALYZE: {name} (app query, {row['app_ms']:.0f} ms) ---\n{sql}\n\n{plans[name]}\n",
              flush=True)
    return plans


# --------------------------------------------------------------------------- reporting


def table(results: list[dict[str, Any]]) -> str:
    pg = {r["scale"]: r for r in results if r["target"] == "postgres"}
    growth = None
    if 1.0 in pg and 0.1 in pg:
        growth = pg[1.0]["subject"]["median"] / pg[0.1]["subject"]["median"]
    rows: list[tuple] = [("target", "scale", "incidents", "subject median ms", "subject min ms",
                          "baseline median ms", "baseline min ms", "ratio (medians)", "≤ 2×", "< 1 s",
                          "10k→100k growth (subject)", "API = baseline")]
    for r in results:
        s, b = r["subject"]["median"], r["baseline_times"]["median"]
        label = r["target"] + (" (ANALYZEd)" if r.get("sqlite_analyze") else "") + \
            (" " + ",".join(r["pg_set"]) if r.get("pg_set") else "") + \
            ("" if r.get("baseline_tuned", True) else " (baseline untuned)")
        rows.append((label, f"{r['scale']:g}", f"{seed_metrics.counts_for(r['scale'])['incidents']:,}",
                     f"{s * 1000:.0f}", f"{r['subject']['min'] * 1000:.0f}", f"{b * 1000:.0f}",
                     f"{r['baseline_times']['min'] * 1000:.0f}", f"{s / b:.2f}", "yes" if s <= 2 * b else "no",
                     "yes" if s < 1 else "no",
                     (f"{growth:.1f}× ({'≤' if growth <= 12 else '>'} 12×)"
                      if growth is not None and r["target"] == "postgres" and r["scale"] == 1.0 else ""),
                     "yes" if not r["mismatches"] else f"no ({len(r['mismatches'])})"))
    return markdown(rows)


def family_table(results: list[dict[str, Any]]) -> str:
    with_families = [r for r in results if r.get("per_family")]
    if not with_families:
        return ""
    header = ["family (measures)"]
    for r in with_families:
        header += [f"{r['target']} {r['scale']:g} app ms", "baseline ms"]
    rows: list[tuple] = [tuple(header)]
    for i, first in enumerate(with_families[0]["per_family"]):
        cells = [f"{first['family']} ({', '.join(first['measures'])})"]
        for r in with_families:
            f = r["per_family"][i]
            cells += [f"{f['app_ms']:.1f}", f"{f['baseline_ms']:.1f}"]
        rows.append(tuple(cells))
    totals = ["sum"]
    for r in with_families:
        totals += [f"{sum(f['app_ms'] for f in r['per_family']):.1f}",
                   f"{sum(f['baseline_ms'] for f in r['per_family']):.1f}"]
    rows.append(tuple(totals))
    return markdown(rows)


def report(results: list[dict[str, Any]], options: argparse.Namespace, command: str) -> str:
    from app.metrics.service import WORK_MEM

    lines = section_head(SECTION, command, PACKAGES)
    lines += [
        "The machine has 2 cores and other engineers' jobs were running on it at the same time, so the "
        "subject and the baseline were measured alternately in one process (the one going first alternates), "
        f"{options.repeat} repetitions each after one warm-up; medians (and minimums) below. "
        "Subject: `GET /api/v1/metrics/summary` (all time, no filters) through the real app "
        "(`create_app(Settings(...))` inside its lifespan, `httpx.ASGITransport`, admin bearer token). "
        "Baseline: one hand-written SQL query per measure (DESIGN §5/§10; nearest-rank median/p90 by "
        "`percentile_disc` on PostgreSQL, `ORDER BY … LIMIT 1 OFFSET ⌈p·n⌉−1` on SQLite), run with "
        "`AsyncSession.execute(text(...))` on the app's engine, one session per repetition"
        + (", with the session settings the app's metrics queries get (`service.tune`: on PostgreSQL "
           f"`work_mem` {WORK_MEM} and `max_parallel_workers_per_gather` 0 for the transaction). "
           if options.baseline_tuned
           else ", with the database's default settings (`--baseline-untuned`). ") +
        "Data: `bench/seed_metrics.py` (seed "
        f"{options.seed}), scale 1.0 = 100,000 incidents, 20,000 postmortems, 100,000 findings, "
        "300,000 action items over ~3 years; PostgreSQL ANALYZEd after seeding; SQLite only with `--sqlite-analyze`. "
        "Targets: subject ≤ 2× baseline and < 1 s on PostgreSQL at 100k; growth 10k → 100k ≤ 12×.", "",
        table(results), "",
    ]
    for r in results:
        if r["mismatches"]:
            lines += [f"Mismatches, {r['target']} {r['scale']:g} (API vs baseline):", ""]
            lines += [f"- {p}" for p in r["mismatches"]] + [""]
    per = family_table(results)
    if per:
        lines += [f"Per family (medians of {options.measure_repeat}, alternating, after a warm-up): the app's one "
                  "query for a family of measures as `app.metrics.service._family` runs it (or `overdue`), in a "
                  "session `service.tune`d as the summary's are, against the baseline's queries for the same "
                  "measures one after another in one session.", "", per, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help=f"KIND:SCALE,... (default {DEFAULT_TARGETS})")
    parser.add_argument("--repeat", type=int, default=7, help="measured repetitions of each (default 7)")
    parser.add_argument("--measure-repeat", type=int, default=5, help="per-family repetitions (default 5)")
    parser.add_argument("--no-per-family", dest="per_family", action="store_false")
    parser.add_argument("--baseline-untuned", dest="baseline_tuned", action="store_false",
                        help="run the baseline with the database's default settings, not the app's metrics "
                             "settings (service.tune: work_mem, no parallel workers on PostgreSQL)")
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded at that scale")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--sqlite-dir", default="/tmp/loopgate-bench-metrics")
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="EXPLAIN ANALYZE the app's N slowest family queries (PostgreSQL)")
    parser.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                        help="ALTER DATABASE ... SET for the PostgreSQL bench databases (e.g. jit=off)")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE on the SQLite file first (without it the app's recurred_after_remediation "
                             "takes minutes at scale 1.0: see docs/benchmarks.md)")
    parser.add_argument("--write-docs", action="store_true", help=f"replace '{SECTION}' in docs/benchmarks.md")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    options = parser.parse_args(argv)
    targets = []
    for item in options.targets.split(","):
        kind, _, scale = item.partition(":")
        if kind not in ("postgres", "sqlite"):
            parser.error(f"unknown target {item!r}")
        targets.append((kind, float(scale or 1.0)))
    testenv = bool(os.environ.get("LOOPGATE_TEST_POSTGRES_URL"))
    command = ("python scripts/testenv.py -- " if testenv else "") + ".venv/bin/python bench/metrics.py " + \
        " ".join(argv if argv is not None else sys.argv[1:])
    results = []
    for kind, scale in targets:
        url = target_url(kind, scale, options)
        seeded = ensure_seeded(url, scale, options)
        result = asyncio.run(measure_target(kind, scale, url, options))
        result["seeding"] = seeded
        results.append(result)
    text = report(results, options, command)
    print("\n" + text, flush=True)
    if options.json:
        write_json(options.json, results)
    if options.write_docs:
        write_docs(text, SECTION)
    _ = (ROOT, math)
    return 0 if all(not r["mismatches"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
