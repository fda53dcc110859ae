#!/usr/bin/env python3
"""Apply benchmark: a backlog of stored PagerDuty events becomes incident state.

Not a test. A fresh database per run gets a backlog of signed-shape v3 deliveries
stored the way the webhook stores them (app/inbound/batch.py, 500 rows a commit):
N incidents × (triggered, acknowledged, priority_updated), ~3 KB each (the bodies of
bench/ingest.py), shuffled. Then it is applied, and the result is checked.

Runs (per backend):
    one-event-per-job  the path before issue 14 (bench/legacy_apply.py): one job per row, through the
                       in-process queue, as the webhook used to enqueue them (a smaller backlog: it is slow)
    batch              `apply_inbox` through the in-process queue (the embedded default, jobs in-process)
    arq ×1, arq ×2     PostgreSQL only: `loopgate worker` processes on real Redis, the jobs enqueued to arq
    ingest while draining
                       SQLite, one uvicorn worker with jobs in-process: the ingest load of bench/ingest.py
                       against a server with the backlog (its start-up sweep starts the apply), and the same
                       load against an empty database, in that order

Usage (from the repository root):
    .venv/bin/python bench/apply.py                                   # SQLite
    .venv/bin/python scripts/testenv.py -- .venv/bin/python bench/apply.py --write-docs   # + PostgreSQL, arq
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import (HOST, ROOT, Server, add_output_options, command_line, cpu_seconds, free_port,
                     machine_busy_seconds, markdown, new_parser, open_database, own_cpu_seconds, percentile,
                     section_head, server_env, terminate, write_docs, write_json)

import legacy_apply  # noqa: E402
from ingest import _templates, alpha  # noqa: E402

SECTION = "## Apply: stored events → incident state"
PHASES = ("incident.triggered", "incident.acknowledged", "incident.priority_updated")
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PACKAGES = ("sqlalchemy", "aiosqlite", "asyncpg", "arq", "uvicorn", "uvloop")


# --------------------------------------------------------------------------- the backlog


@dataclass(frozen=True)
class Event:
    external_id: str
    event_type: str
    occurred_at: datetime
    body: str


def created_at(incident: int) -> datetime:
    return BASE + timedelta(seconds=incident)


def backlog(incidents: int, seed: int) -> list[Event]:
    """Three events per incident, 7 minutes apart, shuffled across the whole backlog."""
    templates = _templates()
    out = []
    for incident in range(incidents):
        created = created_at(incident)
        for phase, event_type in enumerate(PHASES):
            at = created + timedelta(minutes=7 * phase)
            eid = f"01LGA{incident:015d}{phase:06d}"
            body = templates[phase] % {
                "inc": f"Q{incident:013d}", "num": incident + 1, "tok": alpha(incident), "eid": eid,
                "at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "created": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            }
            out.append(Event(eid, event_type, at, body))
    random.Random(seed).shuffle(out)
    return out


async def store(url: str, events: list[Event]) -> None:
    """Store the backlog as the inbox writer does: 500 rows to a commit, received in the shuffled order."""
    from app.core.db import EncodedJSON, create_engine
    from app.inbound.batch import batch_insert_for

    engine = create_engine(url)
    insert = batch_insert_for(engine.dialect)
    try:
        now = datetime.now(UTC)
        for start in range(0, len(events), 500):
            rows = [(uuid.uuid4(), "pagerduty", e.external_id, e.event_type, e.occurred_at,
                     now + timedelta(microseconds=start + i), None, EncodedJSON(e.body))
                    for i, e in enumerate(events[start:start + 500])]
            async with engine.connect() as connection:
                await insert.run(connection, rows)
    finally:
        await engine.dispose()


async def seed_history(url: str, incidents: int) -> None:
    """PostgreSQL: make the database one that has been running, as a storm meets it: `incidents`
    earlier resolved incidents (external ids `H…`, three recorded events each, triggered in the
    months before the backlog, each with its own fingerprint), then ANALYZE. On a fresh database
    the planner has no statistics and picks its plans by guesswork until autovacuum's first
    ANALYZE, which may or may not fall inside a run: the same run then measures differently."""
    if not incidents:
        return
    await execute(url, f"""
        WITH earlier AS (
            INSERT INTO incidents (id, source, external_id, title, teams, assignees, status, reopened_count,
                                   created_at, triggered_at, acknowledged_at, resolved_at, last_event_at, fingerprint)
            SELECT gen_random_uuid(), 'pagerduty', 'H' || g, 'An earlier incident', '[]', '[]', 'resolved', 0,
                   t, t, t + interval '5 minutes', t + interval '30 minutes', t + interval '30 minutes', md5('h' || g)
            FROM generate_series(1, {int(incidents)}) AS g,
                 LATERAL (SELECT TIMESTAMPTZ '{BASE.isoformat()}' - g * interval '10 minutes' AS t) AS at
            RETURNING id, external_id, triggered_at)
        INSERT INTO incident_events (id, incident_id, event_id, event_type, occurred_at, agent, data)
        SELECT gen_random_uuid(), e.id, e.external_id || '-' || k, 'incident.triggered',
               e.triggered_at + k * interval '5 minutes', NULL, jsonb_build_object('padding', repeat('x', 1500))
        FROM earlier AS e, generate_series(0, 2) AS k""", "ANALYZE")


async def execute(url: str, *statements: str) -> None:
    """Run plain SQL statements (no bind parameters) in one transaction."""
    from app.core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- checks


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    from app.core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(sa.text(sql))).all()]
    finally:
        await engine.dispose()


def as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def check(url: str, incidents: int) -> dict[str, Any]:
    """What a user would see: every event applied once, every incident where its events put it."""
    events = incidents * len(PHASES)
    rows = await query(url, "SELECT count(*), sum(CASE WHEN handled_at IS NOT NULL THEN 1 ELSE 0 END), "
                            "sum(CASE WHEN attempts = 1 THEN 1 ELSE 0 END), "
                            "sum(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END) FROM inbound_events")
    total, handled, once, failed = rows[0]
    applied = (await query(url, "SELECT count(*) FROM incident_events WHERE event_id NOT LIKE 'H%'"))[0][0]
    audited = (await query(url, "SELECT count(*) FROM audit_entries WHERE actor = 'pagerduty'"))[0][0]
    state = await query(url, "SELECT external_id, status, priority, severity, triggered_at, acknowledged_at, "
                             "last_event_at, fingerprint FROM incidents WHERE external_id NOT LIKE 'H%'")
    wrong = 0
    for external_id, status, priority, severity, triggered, acknowledged, last, fingerprint in state:
        created = created_at(int(external_id[1:]))
        if (status, priority, severity) != ("acknowledged", "P1", "critical") or fingerprint is None \
                or as_utc(triggered) != created or as_utc(acknowledged) != created + timedelta(minutes=7) \
                or as_utc(last) != created + timedelta(minutes=14):
            wrong += 1
    return {"rows": total, "handled": handled or 0, "handled_once": once or 0, "failed": failed or 0,
            "incident_events": applied, "audit_entries": audited, "incidents": len(state), "wrong_state": wrong,
            "ok": (total == handled == once == applied == audited == events and not failed
                   and len(state) == incidents and wrong == 0)}


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
    backend: str
    path: str
    events: int
    seconds: float = math.nan  # until every row is handled
    followups_seconds: float = math.nan  # until the queue is idle too (repeat linking, packets)
    app_cpu: float = math.nan  # Loopgate's processes, CPU seconds until every row is handled
    other_cpu: float = math.nan  # the rest of the machine meanwhile (PostgreSQL, other users)
    checks: dict[str, Any] = field(default_factory=dict)
    jobs: int | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.nan


async def unhandled(engine: Any) -> int:
    import sqlalchemy as sa

    async with engine.connect() as connection:
        return int((await connection.execute(
            sa.text("SELECT count(*) FROM inbound_events WHERE handled_at IS NULL"))).scalar_one())


async def in_process(backend: str, path: str, url: str, events: int, *, poll: float) -> Run:
    """Apply the backlog with the in-process queue of one Runtime (the embedded default)."""
    import sqlalchemy as sa

    from app.core.queue import Job
    from app.core.settings import Settings
    from app.runtime import JOBS, open_runtime

    settings = Settings(_env_file=None, database_url=url, redis_url=None)  # type: ignore[call-arg]
    runtime = await open_runtime(settings)
    run = Run(backend, path, events)
    try:
        async with runtime.engine.connect() as connection:
            ids = [str(i) for i in (await connection.execute(
                sa.text("SELECT id FROM inbound_events ORDER BY received_at"))).scalars()]
        queue: Any = runtime.queue
        queue._jobs = {**JOBS, "handle_inbound_one": legacy_apply.handle_inbound_one}
        machine0, cpu0, t0 = machine_busy_seconds(8)[0], own_cpu_seconds(), time.perf_counter()
        if path == "one-event-per-job":
            for inbound_id in ids:
                queue.submit(Job("handle_inbound_one", (inbound_id,)))
        else:
            queue.submit(Job("apply_inbox"))
        while await unhandled(runtime.engine):
            await asyncio.sleep(poll)
        run.seconds = time.perf_counter() - t0
        run.app_cpu = own_cpu_seconds() - cpu0
        run.other_cpu = machine_busy_seconds(8)[0] - machine0 - run.app_cpu
        await runtime.queue.drain()
        run.followups_seconds = time.perf_counter() - t0
    finally:
        await runtime.close()
    return run


def arq_workers(url: str, events: int, workers: int, *, poll: float, jobs: int, keep_logs: bool = False) -> Run:
    """`loopgate worker` processes on real Redis; `jobs` apply jobs enqueued once every worker is up."""
    from arq import create_pool
    from arq.connections import RedisSettings

    redis_url = os.environ["LOOPGATE_TEST_REDIS_URL"]
    run = Run("postgres", f"arq ×{workers}", events)
    procs, logs, ports = [], [], []
    try:
        asyncio.run(_flush(redis_url))
        for _ in range(workers):
            port = free_port()
            log = tempfile.NamedTemporaryFile(prefix="loopgate-bench-worker-", suffix=".log", delete=False)
            env = server_env(url, extra=[f"LOOPGATE_REDIS_URL={redis_url}", f"LOOPGATE_WORKER_METRICS_PORT={port}"])
            procs.append(subprocess.Popen([str(ROOT / ".venv" / "bin" / "loopgate"), "worker"], cwd=ROOT, env=env,
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            logs.append(log)
            ports.append(port)
        for port, proc in zip(ports, procs, strict=True):
            _wait_http(port, proc)
        time.sleep(1.0)  # the worker's on_startup (its Runtime) follows the metrics server

        async def enqueue() -> None:
            redis = await create_pool(RedisSettings.from_dsn(redis_url))
            for _ in range(jobs):
                await redis.enqueue_job("apply_inbox")
            await redis.aclose()

        async def drained() -> float:
            """Enqueue, then poll on one connection until no row is unhandled; when that was seen."""
            import sqlalchemy as sa

            from app.core.db import create_engine

            engine = create_engine(url)
            try:
                async with engine.connect() as connection:
                    t0 = time.perf_counter()
                    await enqueue()
                    while True:
                        left = (await connection.execute(sa.text(
                            "SELECT count(*) FROM inbound_events WHERE handled_at IS NULL"))).scalar_one()
                        await connection.rollback()
                        if not left:
                            return time.perf_counter() - t0
                        if any(p.poll() is not None for p in procs):
                            raise RuntimeError("a worker exited:\n" + Path(logs[0].name).read_text()[-3000:])
                        await asyncio.sleep(poll)
            finally:
                await engine.dispose()

        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        machine0 = machine_busy_seconds(8)[0]
        run.seconds = asyncio.run(drained())
        run.app_cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        run.other_cpu = machine_busy_seconds(8)[0] - machine0 - run.app_cpu
        run.jobs = sum(_metric(port, 'loopgate_job_runs_total{job="apply_inbox"}') for port in ports)
    finally:
        for proc in procs:
            terminate(proc)
        for log in logs:
            log.close()
            if keep_logs:
                print(f"worker log: {log.name}", flush=True)
            else:
                os.unlink(log.name)
    return run


async def _flush(redis_url: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()


def _wait_http(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"loopgate worker exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("loopgate worker did not start")


def _metric(port: int, name: str) -> int:
    import urllib.request

    text = urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5).read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines() if line.startswith(name))


# --------------------------------------------------------------------------- ingest while draining


@dataclass
class IngestRun:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    backlog_before: int
    handled_during: int
    unhandled_after: int


def ingest_while_draining(events: list[Event], options: argparse.Namespace) -> list[IngestRun]:
    """The ingest load against a server draining the backlog, then against an empty database."""
    import ingest

    pool = ingest.build_pool(int(options.ingest_rate_cap * (options.ingest_warmup + options.ingest_seconds + 1)))
    generator_options = argparse.Namespace(connections=options.ingest_connections, warmup=options.ingest_warmup,
                                           seconds=options.ingest_seconds, requests=None, nice=0)
    out = []
    for label, with_backlog in (("while draining the backlog", True), ("empty database (baseline)", False)):
        db = open_database("sqlite", sqlite_prefix="loopgate-bench-apply-")
        try:
            if with_backlog:
                asyncio.run(store(db.url, events))
            server = Server(server_env(db.url))  # its start-up sweep finds the backlog and starts applying
            try:
                before = asyncio.run(query(db.url, "SELECT count(*) FROM inbound_events WHERE handled_at IS NULL"))[0][0]
                result = ingest.summarise(label, ingest.run_generator(pool, server, generator_options))
                after = asyncio.run(query(db.url, "SELECT count(*) FROM inbound_events WHERE handled_at IS NULL"))[0][0]
                stored = asyncio.run(query(db.url, "SELECT count(*) FROM inbound_events"))[0][0]
            finally:
                server.stop()
                server.remove_log()
            out.append(IngestRun(label, result.rps, result.p50_ms, result.p99_ms, result.errors, before,
                                 stored - after - 0 if with_backlog else stored - after, after))
            print(f"[ingest {label}] {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                  f"backlog {before:,} → {after:,} unhandled", flush=True)
        finally:
            db.cleanup()
    return out


# --------------------------------------------------------------------------- report


def fmt(value: float, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def report(runs: list[Run], ingest_runs: list[IngestRun], options: argparse.Namespace, command: str) -> str:
    lines = section_head(SECTION, command, PACKAGES)
    lines += [
        f"A backlog of {options.incidents:,} incidents × (triggered, acknowledged, priority_updated) = "
        f"{options.incidents * 3:,} stored PagerDuty v3 events of ~3 KB (the bodies of bench/ingest.py; every "
        "incident has its own fingerprint), shuffled, stored 500 to a commit as the inbox writer does, on a fresh "
        f"database per run; on PostgreSQL the database first holds {options.history_incidents:,} earlier incidents "
        "with three events each and is ANALYZEd (one that has been running, as a storm meets it). "
        f"`one-event-per-job` is the path before issue 14 (bench/legacy_apply.py), on a "
        f"smaller backlog of {options.baseline_incidents * 3:,} events. `events/s` = events ÷ the time from "
        "submitting the job(s) until no row is unhandled; `+ follow-ups` until the queue is idle too (repeat "
        "linking). CPU per event: Loopgate's process(es); `other` is the rest of the machine meanwhile "
        "(PostgreSQL, and other users: the machine is shared). `check`: every row handled with attempts = 1, "
        "one incident_events row and one audit entry per event, every incident's status, priority, severity and "
        "times as its events say.", "",
    ]
    rows: list[tuple[Any, ...]] = [("backend", "path", "events", "s", "events/s", "× one-event-per-job",
                                    "+ follow-ups s", "CPU ms/event", "other CPU ms/event", "jobs", "check")]
    for run in runs:
        base = next((r for r in runs if r.backend == run.backend and r.path == "one-event-per-job"), None)
        speedup = run.rate / base.rate if base and base is not run else math.nan
        rows.append((run.backend, run.path, f"{run.events:,}", fmt(run.seconds, ".1f"), fmt(run.rate, ",.0f"),
                     fmt(speedup, ".1f"), fmt(run.followups_seconds, ".1f"),
                     fmt(1000 * run.app_cpu / run.events, ".2f"), fmt(1000 * run.other_cpu / run.events, ".2f"),
                     "–" if run.jobs is None else run.jobs,
                     "ok" if run.checks.get("ok") else json.dumps(run.checks)))
    lines += [markdown(rows), ""]
    one = [r.rate for r in runs if r.path == "arq ×1"]
    two = [r.rate for r in runs if r.path == "arq ×2"]
    if one and two:
        lines += [f"- Two arq workers ÷ one: {statistics.median(two) / statistics.median(one):.2f}× (medians of "
                  f"{len(two)} and {len(one)} runs: {statistics.median(two):,.0f} against "
                  f"{statistics.median(one):,.0f} events/s; rounds alternate which goes first).", ""]
    if ingest_runs:
        lines += [
            f"Ingest while the backlog drains (SQLite, one uvicorn worker, jobs in-process): bench/ingest.py's "
            f"generator with {options.ingest_connections} keep-alive connections, {options.ingest_warmup:g} s "
            f"warm-up then {options.ingest_seconds:g} s measured, first against a server whose start-up sweep "
            f"found the {options.incidents * 3:,}-event backlog, then against an empty database.", "",
        ]
        rows = [("run", "req/s", "p50 ms", "p99 ms", "errors", "unhandled at start", "unhandled at end")]
        for r in ingest_runs:
            rows.append((r.label, fmt(r.rps, ",.0f"), fmt(r.p50_ms, ".1f"), fmt(r.p99_ms, ".1f"), r.errors,
                         f"{r.backlog_before:,}", f"{r.unhandled_after:,}"))
        lines += [markdown(rows), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--targets", default=None, help="sqlite,postgres (default: postgres too when "
                                                        "LOOPGATE_TEST_POSTGRES_URL is set)")
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--baseline-incidents", type=int, default=1_000,
                        help="incidents for the one-event-per-job run (0: skip it)")
    parser.add_argument("--paths", default="one-event-per-job,batch,arq",
                        help="comma separated: one-event-per-job, batch, arq, ingest")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--arq-jobs", type=int, default=4, help="apply jobs enqueued for the arq workers")
    parser.add_argument("--history-incidents", type=int, default=10_000,
                        help="PostgreSQL: earlier incidents in the database before the backlog, then ANALYZE")
    parser.add_argument("--arq-rounds", type=int, default=3, help="runs of one worker and of two, alternating")
    parser.add_argument("--ingest-connections", type=int, default=64)
    parser.add_argument("--ingest-warmup", type=float, default=2.0)
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    parser.add_argument("--ingest-rate-cap", type=float, default=3000.0, help="deliveries pre-generated per second")
    parser.add_argument("--keep-logs", action="store_true", help="keep the arq workers' logs")
    add_output_options(parser, SECTION)
    options = parser.parse_args(argv)
    postgres_url = os.environ.get("LOOPGATE_TEST_POSTGRES_URL")
    targets = options.targets.split(",") if options.targets else ["sqlite"] + (["postgres"] if postgres_url else [])
    paths = options.paths.split(",")

    events = backlog(options.incidents, options.seed)
    baseline = backlog(options.baseline_incidents, options.seed) if options.baseline_incidents else []
    runs: list[Run] = []
    for backend in targets:
        plan = [(p, baseline if p == "one-event-per-job" else events, options.baseline_incidents
                 if p == "one-event-per-job" else options.incidents)
                for p in ("one-event-per-job", "batch") if p in paths and (p != "one-event-per-job" or baseline)]
        for path, backlog_events, incidents in plan:
            db = open_database(backend, sqlite_prefix="loopgate-bench-apply-", postgres_prefix="loopgate_bench_apply")
            try:
                if backend == "postgres":
                    asyncio.run(seed_history(db.url, options.history_incidents))
                asyncio.run(store(db.url, backlog_events))
                run = asyncio.run(in_process(backend, path, db.url, len(backlog_events), poll=options.poll))
                run.checks = asyncio.run(check(db.url, incidents))
            finally:
                db.cleanup()
            runs.append(run)
            print(f"[{backend} {path}] {run.events:,} events in {run.seconds:.1f} s = {run.rate:,.0f}/s "
                  f"(+ follow-ups {run.followups_seconds:.1f} s), {1000 * run.app_cpu / run.events:.2f} ms CPU/event, "
                  f"check {'ok' if run.checks['ok'] else run.checks}", flush=True)
        if backend == "postgres" and "arq" in paths:
            # Rounds of one worker and two, the one going first alternating: the machine's drift
            # (autovacuum, other users) falls on both alike, and the ratio is of medians.
            order = [w for r in range(options.arq_rounds) for w in ((1, 2) if r % 2 == 0 else (2, 1))]
            for workers in order:
                db = open_database(backend, postgres_prefix="loopgate_bench_apply")
                try:
                    asyncio.run(seed_history(db.url, options.history_incidents))
                    asyncio.run(store(db.url, events))
                    run = arq_workers(db.url, len(events), workers, poll=options.poll, jobs=options.arq_jobs,
                                      keep_logs=options.keep_logs)
                    run.checks = asyncio.run(check(db.url, options.incidents))
                finally:
                    db.cleanup()
                runs.append(run)
                print(f"[postgres {run.path}] {run.events:,} events in {run.seconds:.1f} s = {run.rate:,.0f}/s, "
                      f"{1000 * run.app_cpu / run.events:.2f} ms CPU/event, check "
                      f"{'ok' if run.checks['ok'] else run.checks}", flush=True)
    ingest_runs = ingest_while_draining(events, options) if "ingest" in paths else []

    command = command_line("apply.py", "postgres" in targets, argv)
    section = report(runs, ingest_runs, options, command)
    print("\n" + section)
    if options.write_docs:
        write_docs(section, SECTION)
    if options.json:
        write_json(options.json, {"runs": [r.__dict__ for r in runs], "ingest": [r.__dict__ for r in ingest_runs]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
