#!/usr/bin/env python3
"""Ingest benchmark: signed ~3 KB PagerDuty v3 deliveries into `POST /webhooks/pagerduty`.

Not a test. For each target it starts one uvicorn worker on a free loopback port,
drives it with keep-alive connections from a separate load-generator process
(the other core), then checks that every accepted delivery was stored and
measures how long the in-process jobs take to handle the backlog.

Targets:
    noop      bench/noop_app.py: the same route doing nothing but reading the body (the baseline)
    sqlite    Loopgate on a fresh SQLite file, migrated with app.core.migrations.upgrade
    postgres  Loopgate on a fresh database created next to LOOPGATE_TEST_POSTGRES_URL
    sqlite+redis, postgres+redis (opt-in)
              the same with LOOPGATE_REDIS_URL and no worker: the API process only ingests

Usage (from the repository root):
    .venv/bin/python bench/ingest.py                                   # noop + sqlite
    .venv/bin/python scripts/testenv.py -- .venv/bin/python bench/ingest.py --write-docs
    .venv/bin/python bench/ingest.py --targets sqlite --profile        # py-spy the server

Every delivery carries a distinct event id, so every 2xx must become one row:
lost = distinct events sent - rows stored. A run that sends more requests than
the pre-generated pool (--pool) resends old deliveries, which Loopgate answers
200 "duplicate"; they are counted as such.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import collections
import contextlib
import datetime as dt
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (HOST, ROOT, Database, Server, add_output_options, command_line, cpu_seconds,
                     event_loop_runner, find_py_spy, machine_busy_seconds, markdown, new_parser, open_database,
                     part_of, percentile, renice, require_postgres, section_head, server_env, short_frame,
                     signature, write_docs, write_json)

PATH = "/webhooks/pagerduty"
SECTION = "## Ingest: POST /webhooks/pagerduty"

# Deliveries: incident k // 4-ish, four events each. The events of one incident are
# BLOCK deliveries apart, as in life (minutes apart), not back to back.
EVENT_TYPES = ("incident.triggered", "incident.acknowledged", "incident.priority_updated", "incident.resolved")
BLOCK = 4096
BODY_TARGET = 3000  # bytes of JSON per delivery

# Per-delivery outcome codes in the generator's status array.
NOT_SENT, ACCEPTED, DUPLICATE, HTTP_ERROR, CONN_ERROR = 0, 1, 2, 3, 4


# --------------------------------------------------------------------------- deliveries


def event_id(k: int) -> str:
    return f"01LGB{k:021d}"  # 26 characters, like PagerDuty's ULID event ids


def alpha(n: int) -> str:
    """A letters-only token: PagerDuty titles differ, and digits would fold into one fingerprint."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
        if n == 0:
            return out.rjust(4, "a")


def where(k: int) -> tuple[int, int]:
    """Delivery k → (incident number, which of its four events)."""
    block, rest = divmod(k, 4 * BLOCK)
    phase, j = divmod(rest, BLOCK)
    return block * BLOCK + j, phase


def _templates() -> list[str]:
    """One %-template per event type; the markers become %s after JSON encoding."""
    details = ("Synthetic monitor checkout-api-p99 breached: p99 latency above 2000 ms for 5 of the last 5 "
               "minutes in eu-west-1 and us-east-1. Runbook: https://runbooks.example.com/checkout/latency. ")
    out = []
    for phase, event_type in enumerate(EVENT_TYPES):
        status = {0: "triggered", 3: "resolved"}.get(phase, "acknowledged")
        priority = "P2" if phase < 2 else "P1"
        data = {
            "id": "@@INC@@", "type": "incident",
            "self": "https://api.pagerduty.com/incidents/@@INC@@",
            "html_url": "https://acme.pagerduty.com/incidents/@@INC@@",
            "number": "@@NUM@@", "status": status, "incident_key": "checkout-latency/@@TOK@@",
            "created_at": "@@CREATED@@",
            "title": "[@@TOK@@] Checkout API p99 latency above two seconds in eu-west-1 and us-east-1",
            "service": {"html_url": "https://acme.pagerduty.com/services/PSV81QA", "id": "PSV81QA",
                        "self": "https://api.pagerduty.com/services/PSV81QA", "summary": "Checkout API",
                        "type": "service_reference"},
            "assignees": [{"html_url": f"https://acme.pagerduty.com/users/PU{n}", "id": f"PU{n}",
                           "self": f"https://api.pagerduty.com/users/PU{n}", "summary": name,
                           "type": "user_reference"}
                          for n, name in ((1, "Dana Whitfield"), (2, "Ravi Natarajan"))],
            "escalation_policy": {"html_url": "https://acme.pagerduty.com/escalation_policies/PEP0PAY",
                                  "id": "PEP0PAY", "self": "https://api.pagerduty.com/escalation_policies/PEP0PAY",
                                  "summary": "Payments on-call", "type": "escalation_policy_reference"},
            "teams": [{"html_url": f"https://acme.pagerduty.com/teams/{tid}", "id": tid,
                       "self": f"https://api.pagerduty.com/teams/{tid}", "summary": name, "type": "team_reference"}
                      for tid, name in (("PTM0PAY", "Payments"), ("PTM0SRE", "Site Reliability"),
                                        ("PTM0CHK", "Checkout Platform"))],
            "priority": {"html_url": "https://acme.pagerduty.com/account/incident_priorities", "id": f"PPR{priority}",
                         "self": f"https://api.pagerduty.com/priorities/PPR{priority}", "summary": priority,
                         "type": "priority_reference"},
            "urgency": "high", "conference_bridge": {"conference_number": "+1-415-555-0100,,123456#",
                                                     "conference_url": "https://meet.example.com/checkout-war-room"},
            "resolve_reason": None,
            "body": {"type": "incident_body", "details": ""},
        }
        envelope = {"event": {"id": "@@EID@@", "event_type": event_type, "resource_type": "incident",
                              "occurred_at": "@@AT@@",
                              "agent": {"html_url": "https://acme.pagerduty.com/users/PU1", "id": "PU1",
                                        "self": "https://api.pagerduty.com/users/PU1", "summary": "Dana Whitfield",
                                        "type": "user_reference"},
                              "client": {"name": "PagerDuty Web"}, "data": data}}
        sample = {"@@INC@@": "Q0000000123456", "@@NUM@@": "123457", "@@TOK@@": "abcd", "@@EID@@": event_id(0),
                  "@@AT@@": "2026-03-01T12:00:00.000Z", "@@CREATED@@": "2026-03-01T12:00:00.000Z"}
        text = json.dumps(envelope, separators=(",", ":"))
        for marker, value in sample.items():
            text = text.replace(f'"{marker}"' if marker == "@@NUM@@" else marker, value)
        pad = max(0, BODY_TARGET - len(text.encode()))
        data["body"]["details"] = (details * (pad // len(details) + 1))[:pad]
        text = json.dumps(envelope, separators=(",", ":")).replace("%", "%%")
        text = text.replace('"@@NUM@@"', "%(num)d")
        for marker, key in (("@@INC@@", "inc"), ("@@TOK@@", "tok"), ("@@EID@@", "eid"), ("@@AT@@", "at"),
                            ("@@CREATED@@", "created")):
            text = text.replace(marker, f"%({key})s")
        out.append(text)
    return out


HEAD = (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
        b"User-Agent: PagerDuty-Webhook/V3.0\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"X-Webhook-Id: %s\r\nX-PagerDuty-Signature: %s\r\nContent-Length: %d\r\n\r\n")


@dataclass
class Pool:
    """N complete HTTP/1.1 requests in one buffer (forked children share it without copying)."""

    buf: bytearray
    offsets: array.array
    body_bytes: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def request(self, k: int) -> bytes:
        return bytes(self.buf[self.offsets[k]:self.offsets[k + 1]])

    def body(self, k: int) -> tuple[bytes, str]:
        raw = self.request(k)
        head, _, body = raw.partition(b"\r\n\r\n")
        signature = re.search(rb"X-PagerDuty-Signature: (\S+)", head).group(1).decode()
        return body, signature


def build_pool(n: int) -> Pool:
    templates = _templates()
    base = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    buf = bytearray()
    offsets = array.array("Q", [0])
    body_bytes = 0
    for k in range(n):
        incident, phase = where(k)
        created = base + dt.timedelta(seconds=incident * 0.01)
        at = created + dt.timedelta(minutes=7 * phase)
        body = (templates[phase] % {
            "inc": f"Q{incident:013d}", "num": incident + 1, "tok": alpha(incident), "eid": event_id(k),
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "created": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }).encode()
        body_bytes += len(body)
        buf += HEAD % (f"bench-{k}".encode(), signature(body).encode(), len(body))
        buf += body
        offsets.append(len(buf))
    return Pool(buf, offsets, body_bytes)


# --------------------------------------------------------------------------- load generator (child process)


class Load:
    """The shared state of one load run; runs in the generator process on its own event loop."""

    def __init__(self, pool: Pool, *, connections: int, warmup: float, seconds: float, requests: int | None,
                 server_pid: int | None) -> None:
        self.pool = pool
        self.view = memoryview(pool.buf)
        self.connections = connections
        self.warmup, self.seconds, self.requests = warmup, seconds, requests
        self.server_pid = server_pid
        self.next_k = 0
        self.status = bytearray(len(pool))
        self.codes: collections.Counter[int] = collections.Counter()
        self.conn_errors = 0
        self.latencies = array.array("d")
        self.measured = 0
        self.stopping = False
        self.in_flight = 0
        self.done: asyncio.Future[None] | None = None
        self.stop_event: asyncio.Event | None = None
        self.warm_end = self.measure_end = math.inf
        self.cpu_t0 = self.cpu_t1 = math.nan
        self.cpu_start: tuple[float, float, float] | None = None
        self.cpu_end: tuple[float, float, float] | None = None

    def next_request(self) -> tuple[int, memoryview] | None:
        if self.stopping:
            return None
        k = self.next_k % len(self.pool)
        self.next_k += 1
        return k, self.view[self.pool.offsets[k]:self.pool.offsets[k + 1]]

    def cpu(self) -> tuple[float, float, float]:
        """CPU seconds of (this process, the server process with all its threads, the whole machine)."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        server = machine = math.nan
        if self.server_pid:
            with contextlib.suppress(OSError, IndexError, ValueError):
                server = cpu_seconds(self.server_pid)
        with contextlib.suppress(OSError, IndexError, ValueError):
            machine = machine_busy_seconds(8)[0]  # all but idle and iowait, guest time left out
        return me.ru_utime + me.ru_stime, server, machine

    def completed(self, k: int, code: int, started: float, now: float) -> None:
        self.codes[code] += 1
        self.status[k] = ACCEPTED if code == 202 else DUPLICATE if code == 200 else HTTP_ERROR
        if now < self.warm_end or self.stopping:
            return
        if now >= self.measure_end:
            self.stop(now)
            return
        self.latencies.append(now - started)
        self.measured += 1
        if self.requests is not None and self.measured >= self.requests:
            self.stop(now)

    def tick(self, now: float) -> None:
        """Every few ms: the CPU sample at the start of the measured phase; the end of a fixed duration."""
        if self.cpu_start is None and now >= self.warm_end:
            self.cpu_start, self.cpu_t0 = self.cpu(), now
        if now >= self.measure_end:
            self.stop(now)

    def stop(self, now: float) -> None:
        if not self.stopping:
            self.stopping = True
            self.measure_end = min(now, self.measure_end)
            self.cpu_end, self.cpu_t1 = self.cpu(), now
            if self.stop_event is not None:
                self.stop_event.set()
        if self.in_flight == 0 and self.done is not None and not self.done.done():
            self.done.set_result(None)


class Client(asyncio.Protocol):
    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.k = -1
        self.started = 0.0
        self.buf = bytearray()
        self.need = -1
        self.code = 0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_next(self) -> None:
        item = self.load.next_request()
        if item is None:
            self.k = -1
            return
        self.k, request = item
        self.buf.clear()
        self.need = -1
        self.load.in_flight += 1
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.need < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            self.code = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self.need = end + 4  # no body (or chunked, which these servers do not send here)
            else:
                stop = head.find(b"\r\n", at + 2)
                self.need = end + 4 + int(head[at + 17:stop if stop >= 0 else len(head)])
        if len(buf) < self.need:
            return
        now = time.perf_counter()
        load, k = self.load, self.k
        self.k = -1
        load.in_flight -= 1
        load.completed(k, self.code, self.started, now)
        if load.stopping:
            load.stop(now)
        else:
            self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.k >= 0:  # a request was in flight: it failed
            load = self.load
            load.in_flight -= 1
            load.conn_errors += 1
            load.status[self.k] = CONN_ERROR
            self.k = -1
            if load.stopping:
                load.stop(time.perf_counter())
        if not self.closed.done():
            self.closed.set_result(None)


async def run_load(load: Load, port: int, stop_grace: float = 60.0, max_requests_seconds: float = 3600.0) -> None:
    loop = asyncio.get_running_loop()
    load.done = loop.create_future()
    load.stop_event = asyncio.Event()

    async def connection() -> None:
        attempts = 0
        while not load.stopping:
            try:
                _, client = await loop.create_connection(lambda: Client(load), HOST, port)
            except OSError:
                load.conn_errors += 1
                attempts += 1
                if attempts > 100:
                    return
                await asyncio.sleep(0.05)
                continue
            try:
                await started.wait()
                client.send_next()
                await client.closed  # closed by the server (an error, or keep-alive refused): reconnect
            finally:
                client.transport.close()

    started = asyncio.Event()
    tasks = [loop.create_task(connection()) for _ in range(load.connections)]
    await asyncio.sleep(0.2)  # let the connections open before the clock starts
    load.warm_end = time.perf_counter() + load.warmup
    load.measure_end = load.warm_end + load.seconds if load.requests is None else math.inf
    started.set()

    def watchdog() -> None:  # time is checked on each response too; this covers a server that stalls
        load.tick(time.perf_counter())
        if not load.stopping:
            loop.call_later(0.005, watchdog)

    loop.call_later(0.005, watchdog)
    try:
        await asyncio.wait_for(load.stop_event.wait(),
                               timeout=None if load.requests is None else load.warmup + max_requests_seconds)
    except TimeoutError:
        load.stop(time.perf_counter())
    # Stopping: every connection finishes the request it has in flight, within stop_grace seconds.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(load.done), timeout=stop_grace)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def generator_main(pipe: Any, pool: Pool, port: int, options: dict[str, Any]) -> None:
    """Entry point of the load-generator process: run, then send the results up the pipe."""
    load = Load(pool, connections=options["connections"], warmup=options["warmup"], seconds=options["seconds"],
                requests=options["requests"], server_pid=options["server_pid"])
    runner, loop_name = event_loop_runner()
    with runner:
        runner.run(run_load(load, port))
    ended = time.monotonic()
    cpu_start = load.cpu_start or (math.nan, math.nan, math.nan)
    cpu_end = load.cpu_end or load.cpu()
    pipe.send({
        "loop": loop_name,
        "sent": load.next_k,
        "distinct_sent": min(load.next_k, len(pool)),
        "codes": dict(load.codes),
        "conn_errors": load.conn_errors,
        "in_flight_at_end": load.in_flight,
        "measured": load.measured,
        "measured_seconds": load.measure_end - load.warm_end,
        "cpu_seconds": load.cpu_t1 - load.cpu_t0,
        "latencies": load.latencies.tobytes(),
        "status": bytes(load.status),
        "generator_cpu": cpu_end[0] - cpu_start[0],
        "server_cpu": cpu_end[1] - cpu_start[1],
        "machine_cpu": cpu_end[2] - cpu_start[2],
        "ended_monotonic": ended,
    })
    pipe.close()


# --------------------------------------------------------------------------- targets (parent process)


@dataclass
class IngestDatabase(Database):
    """A fresh database for one Loopgate run, and how to count its rows."""

    def query(self, sql: str) -> list[tuple]:
        if self.kind == "sqlite":
            with sqlite3.connect(self.path, timeout=30) as connection:
                return connection.execute(sql).fetchall()

        async def fetch() -> list[tuple]:
            import asyncpg

            connection = await asyncpg.connect(self.dsn)
            try:
                return [tuple(r) for r in await connection.fetch(sql)]
            finally:
                await connection.close()

        return asyncio.run(fetch())


@dataclass
class Result:
    target: str
    rps: float
    p50_ms: float
    p99_ms: float
    sent: int
    distinct: int
    accepted: int
    duplicate: int
    errors: int
    rows: int | None = None
    lost: int | None = None
    acked_missing: int | None = None
    drain_seconds: float | None = None
    unhandled_at_end: int | None = None
    drain_rate: float | None = None
    unhandled: int | None = None
    failed_rows: int | None = None
    generator_cpu: float = math.nan
    server_cpu: float = math.nan
    other_cpu: float = math.nan
    measured_seconds: float = math.nan
    cpu_seconds: float = math.nan
    error_codes: dict[int, int] = field(default_factory=dict)
    server_warnings: int = 0
    ratio: float | None = None
    note: str = ""


def run_generator(pool: Pool, server: Server, options: argparse.Namespace) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=generator_main, args=(send, pool, server.port, {
        "connections": options.connections, "warmup": options.warmup, "seconds": options.seconds,
        "requests": options.requests, "server_pid": server.pid}), daemon=True)
    child.start()
    send.close()
    if options.nice:
        renice(child.pid, options.nice)
        renice(server.pid, options.nice)  # threads started since (aiosqlite opens one per connection)
    budget = options.warmup + (options.seconds if options.requests is None else 3600) + 120
    if not receive.poll(budget):
        child.kill()
        raise RuntimeError("the load generator did not finish")
    out = receive.recv()
    child.join(10)
    return out


def summarise(target: str, out: dict[str, Any]) -> Result:
    latencies = sorted(array.array("d", out["latencies"]))
    codes = {int(k): v for k, v in out["codes"].items()}
    errors = sum(v for k, v in codes.items() if not 200 <= k < 300) + out["conn_errors"]
    return Result(
        target=target, rps=out["measured"] / out["measured_seconds"] if out["measured_seconds"] > 0 else math.nan,
        p50_ms=percentile(latencies, 0.50) * 1000, p99_ms=percentile(latencies, 0.99) * 1000,
        sent=out["sent"], distinct=out["distinct_sent"], accepted=codes.get(202, 0), duplicate=codes.get(200, 0),
        errors=errors, generator_cpu=out["generator_cpu"], server_cpu=out["server_cpu"],
        other_cpu=out["machine_cpu"] - out["server_cpu"] - out["generator_cpu"],
        measured_seconds=out["measured_seconds"], cpu_seconds=out["cpu_seconds"],
        error_codes={k: v for k, v in codes.items() if not 200 <= k < 300} | (
            {0: out["conn_errors"]} if out["conn_errors"] else {}),
    )


def drain_and_count(db: IngestDatabase, out: dict[str, Any], result: Result, timeout: float) -> None:
    """Wait for the in-process jobs to handle every row, then compare rows with what was sent."""
    load_end = out["ended_monotonic"]
    first = None
    while True:
        unhandled = db.query("SELECT count(*) FROM inbound_events WHERE handled_at IS NULL")[0][0]
        now = time.monotonic()
        if first is None:
            first = result.unhandled_at_end = unhandled
        if timeout <= 0:  # nothing handles the rows here (jobs queued in Redis, no worker)
            result.drain_seconds = None
            break
        if unhandled == 0:
            result.drain_seconds = max(0.0, now - load_end)
            break
        if now - load_end > timeout:
            result.drain_seconds = None
            break
        time.sleep(0.25)
    result.unhandled = unhandled
    if result.drain_seconds:
        result.drain_rate = result.unhandled_at_end / result.drain_seconds
    result.failed_rows = db.query("SELECT count(*) FROM inbound_events WHERE error IS NOT NULL OR attempts > 1")[0][0]
    stored = {row[0] for row in db.query("SELECT external_id FROM inbound_events WHERE source = 'pagerduty'")}
    result.rows = len(stored)
    result.lost = result.distinct - result.rows
    status = out["status"]
    acked = {event_id(k) for k in range(len(status)) if status[k] in (ACCEPTED, DUPLICATE)}
    result.acked_missing = len(acked - stored)


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (all but idle and iowait; guest time left out)."""
    return machine_busy_seconds(8)[0]


def wait_quiet(limit: float, threshold: float = 0.25) -> None:
    """Wait (at most `limit` s) until other processes use under `threshold` of one core for a whole second."""
    if limit <= 0:
        return
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy()
        time.sleep(1.0)
        busy = machine_busy() - before
        if busy < threshold:
            return
        if time.monotonic() > deadline:
            print(f"  machine still busy ({100 * busy:.0f}% of a core used by others); running anyway", flush=True)
            return


def bench_target(target: str, pool: Pool, options: argparse.Namespace) -> Result:
    db: IngestDatabase | None = None
    backend, _, variant = target.partition("+")
    if target == "noop":
        server = Server(server_env(None), "noop_app:app", app_dir=str(ROOT / "bench"), nice=options.nice)
    else:
        db = open_database(backend, cls=IngestDatabase)
        extra = list(options.server_env)
        if variant == "redis":  # jobs go to Redis and no worker runs: the API process only ingests
            extra.append(f"LOOPGATE_REDIS_URL={os.environ['LOOPGATE_TEST_REDIS_URL']}")
        server = Server(server_env(db.url, extra=extra), nice=options.nice)
    profiler = None
    try:
        print(f"[{target}] uvicorn pid {server.pid} on :{server.port} ({server.loop}, {server.http}); "
              f"{options.connections} connections, warm-up {options.warmup:g} s, "
              + (f"{options.requests} requests" if options.requests else f"{options.seconds:g} s"), flush=True)
        wait_quiet(options.wait_quiet)
        if options.profile and target != "noop":
            profiler = start_profiler(server.pid, options)
        out = run_generator(pool, server, options)
        result = summarise(target, out)
        if profiler is not None:
            profiler.wait()
        if db is not None:
            drain_and_count(db, out, result, options.drain_timeout if variant != "redis" else 0.0)
        if result.distinct < result.sent:
            result.note = f"pool of {len(pool)} exhausted: {result.sent - result.distinct} resent"
        if target == "noop" and options.wrk and shutil.which("wrk"):
            result.note = (result.note + "; " if result.note else "") + run_wrk(server, pool, options)
        result.server_warnings = len(server.warnings())
        print(f"[{target}] {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
              f"sent {result.sent}, errors {result.errors}"
              + (f", rows {result.rows}, lost {result.lost}, drain "
                 + (f"{result.drain_seconds:.1f} s" if result.drain_seconds is not None else "timed out")
                 if db is not None else ""), flush=True)
        return result
    finally:
        server.stop()
        if options.keep_logs or (server.proc.returncode not in (0, -signal.SIGTERM)):
            print(f"[{target}] server log: {server.log.name}", flush=True)
        else:
            server.remove_log()
        if db is not None and db.cleanup is not None and not options.keep_db:
            db.cleanup()
        elif db is not None:
            print(f"[{target}] database kept: {db.url}", flush=True)
        if profiler is not None:
            summarise_profile(profiler.output, target)


# --------------------------------------------------------------------------- wrk (is the Python generator the limit?)


def run_wrk(server: Server, pool: Pool, options: argparse.Namespace) -> str:
    body, signature = pool.body(0)
    with tempfile.TemporaryDirectory(prefix="loopgate-bench-wrk-") as folder:
        Path(folder, "body.json").write_bytes(body)
        script = Path(folder, "post.lua")
        script.write_text(
            'wrk.method = "POST"\n'
            f'local f = io.open("{folder}/body.json", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
            'wrk.headers["Content-Type"] = "application/json; charset=utf-8"\n'
            f'wrk.headers["X-PagerDuty-Signature"] = "{signature}"\n'
        )
        base = ["wrk", "-t1", f"-c{options.connections}", "-s", str(script), server.url + PATH]
        if options.nice:
            base = ["nice", "-n", str(options.nice)] + base
        at = base.index("wrk") + 1
        subprocess.run(base[:at] + [f"-d{max(1, round(options.warmup))}s"] + base[at:], capture_output=True, check=True)
        text = subprocess.run(base[:at] + [f"-d{max(1, round(options.seconds))}s", "--latency"] + base[at:],
                              capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

    def latency(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    wrk_result = {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99"),
                  "non2xx": int(non2xx.group(1)) if non2xx else 0}
    options.wrk_result = wrk_result
    return (f"wrk -t1 -c{options.connections} (one fixed body): {rps:,.0f} req/s, "
            f"p50 {wrk_result['p50_ms']:.2f} ms, p99 {wrk_result['p99_ms']:.2f} ms")


# --------------------------------------------------------------------------- py-spy


@dataclass
class Profiler:
    proc: subprocess.Popen
    output: str

    def wait(self) -> None:
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)


def start_profiler(pid: int, options: argparse.Namespace) -> Profiler | None:
    py_spy = find_py_spy()
    if py_spy is None:
        print("--profile: py-spy not found (pip install py-spy)", flush=True)
        return None
    output = tempfile.NamedTemporaryFile(prefix="loopgate-bench-pyspy-", suffix=".txt", delete=False).name
    duration = max(1, math.ceil(options.warmup + (options.seconds if options.requests is None else 30)))
    # --gil: only the thread holding the GIL is sampled, i.e. where the process's Python CPU time goes.
    proc = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration", str(duration), "--rate", "250",
                             "--format", "raw", "--output", output, "--nonblocking", "--threads", "--gil"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached before the load starts
    return Profiler(proc, output)


def summarise_profile(path: str, target: str, top: int = 25) -> None:
    """Top functions by own samples and by inclusive samples, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    parts: collections.Counter[str] = collections.Counter()
    total = 0
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        print(f"[{target}] no profile written", flush=True)
        return
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0] if frames[0].startswith(("thread", "process")) else "?"] += n
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        parts[part_of(frames, PARTS, "other (event loop, uvicorn, sweeper)")] += n
        if frames:
            own[short_frame(frames[-1])] += n
        for name in {short_frame(f) for f in frames}:
            inclusive[name] += n
    print(f"\n[{target}] py-spy --gil: {total} samples ({path})")
    print("  by thread:")
    for name, n in threads.most_common(8):
        print(f"    {100 * n / total:5.1f}%  {name}")
    print("  by part of the work:")
    for name, n in parts.most_common():
        print(f"    {100 * n / total:5.1f}%  {name}")
    print("  own time:")
    for name, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f}%  {name}")
    print("  inclusive:")
    for name, n in inclusive.most_common(top):
        print(f"    {100 * n / total:5.1f}%  {name}")
    print("  inclusive, Loopgate's own functions:")
    for name, n in [(k, v) for k, v in inclusive.most_common() if "(app/" in k][:top]:
        print(f"    {100 * n / total:5.1f}%  {name}")
    sys.stdout.flush()


PARTS = (  # first match wins; py-spy cannot see through SQLAlchemy's greenlets, hence the SQL-shaped guesses
    ("jobs: apply_inbox", ("apply_inbox (", "apply_batch (", "InProcessQueue.", "apply_pagerduty_events",
                           "link_repeats", "relink_pending",
                           "_replace_teams", "_lock_or_create", "Session.refresh", "_BulkORMDelete", "fold (")),
    ("jobs: enqueue to Redis (arq)", ("ArqQueue.", "arq/", "redis/", "hiredis")),
    ("webhook: InboxWriter group commit", ("InboxWriter.", "_extend_values_for_multiparams", "visit_dml_values")),
    ("webhook: request (HTTP, ASGI, verify, parse)", ("RequestResponseCycle", "HttpToolsProtocol", "receive_pagerduty",
                                                      "RequestMetrics", "starlette/", "fastapi/", "hmac.py",
                                                      "httptools", "uvicorn/protocols")),
    ("SQLAlchemy in a greenlet (writer or jobs)", ("Session.", "AsyncSession", "Connection.execute",
                                                   "greenlet_spawn", "sqlalchemy/")),
    ("aiosqlite worker threads", ("_connection_worker_thread",)),
    ("asyncpg", ("asyncpg/",)),
)


# --------------------------------------------------------------------------- report


COLUMNS = ("target", "req/s", "p50 ms", "p99 ms", "ratio", "sent", "accepted", "duplicate", "errors",
           "rows stored", "lost")


def table(results: list[Result]) -> str:
    def cell(value: Any, fmt: str) -> str:
        return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)

    rows = [COLUMNS]
    for r in results:
        rows.append((r.target, cell(r.rps, ",.0f"), cell(r.p50_ms, ".2f"), cell(r.p99_ms, ".2f"),
                     cell(r.ratio, ".2f"), cell(r.sent, ","), cell(r.accepted, ","), cell(r.duplicate, ","),
                     cell(r.errors, ","), cell(r.rows, ","), cell(r.lost, ",")))
    return markdown(rows)


def drain_table(results: list[Result]) -> str:
    rows = [("target", "distinct sent", "unhandled at end of load", "drain s", "handled/s while draining",
             "unhandled after", "failed/retried rows", "acked but missing",
             "server CPU", "generator CPU", "other CPU")]
    for r in results:
        span = r.cpu_seconds
        rows.append((
            r.target, f"{r.distinct:,}",
            "–" if r.unhandled_at_end is None else f"{r.unhandled_at_end:,}",
            "–" if r.rows is None or r.target.endswith("+redis")
            else ("timed out" if r.drain_seconds is None else f"{r.drain_seconds:.1f}"),
            "–" if not r.drain_rate else f"{r.drain_rate:,.0f}",
            "–" if r.unhandled is None else f"{r.unhandled:,}",
            "–" if r.failed_rows is None else f"{r.failed_rows:,}",
            "–" if r.acked_missing is None else f"{r.acked_missing:,}",
            f"{100 * r.server_cpu / span:.0f}%" if span > 0 and not math.isnan(r.server_cpu) else "–",
            f"{100 * r.generator_cpu / span:.0f}%" if span > 0 else "–",
            f"{100 * max(0.0, r.other_cpu) / span:.0f}%" if span > 0 and not math.isnan(r.other_cpu) else "–",
        ))
    return markdown(rows)


PACKAGES = ("uvicorn", "fastapi", "sqlalchemy", "aiosqlite", "asyncpg", "uvloop", "httptools")


def report(results: list[Result], options: argparse.Namespace, pool: Pool, command: str) -> str:
    body_size = pool.body_bytes / len(pool)
    lines = section_head(SECTION, command, PACKAGES) + [
        f"Signed PagerDuty v3 `incident.*` deliveries of {body_size:,.0f} bytes of JSON each, every one with its own "
        f"event id; {options.connections} keep-alive connections from a separate load-generator process, each with one "
        f"request in flight; one uvicorn worker; {options.warmup:g} s of warm-up (not counted) then "
        + (f"{options.requests:,} requests" if options.requests else f"{options.seconds:g} s") + " measured. "
        "Latency is from writing the request to reading the whole response. `ratio` is req/s over the no-op "
        "baseline's (`bench/noop_app.py`: the same route that only reads the body). `sent`, `accepted`, `duplicate`, "
        "`errors` count the whole run, warm-up included; `lost` = distinct events sent − rows in `inbound_events`.",
        "", table(results), "",
        "Jobs: `drain s` is the time from the end of the load until every stored row was handled by the in-process "
        "job runner (it shares the API process and its CPU with the ingestion above). CPU is per measured second "
        "(100% = one core; the machine has " + str(os.cpu_count()) + "); `other CPU` is everything else on the "
        "machine during the measured phase (figures are only comparable when it is near 0).", "",
        drain_table(results), "",
    ]
    notes = []
    checks = []
    for r in results:
        if r.target == "noop":
            continue
        if r.target == "sqlite" and r.ratio is not None:
            checks.append(f"SQLite ratio ≥ 0.5: {'yes' if r.ratio >= 0.5 else 'no'} ({r.ratio:.2f})")
        checks.append(f"{r.target} p99 ≤ 50 ms: {'yes' if r.p99_ms <= 50 else 'no'} ({r.p99_ms:,.0f} ms)")
        if r.lost is not None:
            ok = r.lost == 0 and not r.acked_missing and r.errors == 0
            checks.append(f"{r.target} 0 lost, 0 errors: {'yes' if ok else 'no'} ({r.lost} lost, {r.errors} errors)")
    if checks:
        notes.append("- Targets: " + "; ".join(checks) + ".")
    notes += [f"- {r.target}: {r.note}" for r in results if r.note]
    notes += [f"- {r.target}: error responses {r.error_codes} (0 = connection errors)" for r in results if r.error_codes]
    notes += [f"- {r.target}: the server logged {r.server_warnings} warning/error lines" for r in results
              if r.server_warnings]
    if any(r.target.endswith("+redis") for r in results):
        notes.append("- `+redis`: LOOPGATE_REDIS_URL set and no worker running, so the API process only ingests "
                     "(each new row is also enqueued to arq); its rows are never handled, hence no drain.")
    if any(r.target.startswith("postgres") for r in results):
        notes.append("- postgres: `other CPU` includes the PostgreSQL server itself (throwaway, fsync off, "
                     "from scripts/testenv.py).")
    if notes:
        lines += notes + [""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--targets", default=None,
                        help="comma separated: noop,sqlite,postgres (default: noop,sqlite and postgres when "
                             "LOOPGATE_TEST_POSTGRES_URL is set); sqlite+redis, postgres+redis: jobs queued in "
                             "Redis with no worker, i.e. ingestion alone (needs LOOPGATE_TEST_REDIS_URL)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up, not measured")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--requests", type=int, default=None, help="measure this many requests instead of --seconds")
    parser.add_argument("--pool", type=int, default=None,
                        help="distinct deliveries to pre-generate (default: enough for 20k req/s)")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--no-wrk", dest="wrk", action="store_false", help="skip the wrk cross-check of the baseline")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the Loopgate server during the load and print its top functions")
    add_output_options(parser, SECTION)
    parser.add_argument("--server-env", action="append", metavar="KEY=VALUE", default=[],
                        help="extra environment for the Loopgate server (experiments, e.g. LOOPGATE_JOB_CONCURRENCY=1)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each target, wait up to SECONDS for other processes to leave the CPUs idle")
    parser.add_argument("--nice", type=int, default=0,
                        help="run the server and the generator at this nice value (e.g. -10 as root, on a shared "
                             "machine); PostgreSQL itself is not reniced")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--keep-logs", action="store_true")
    options = parser.parse_args(argv)
    options.wrk_result = None

    postgres_url = os.environ.get("LOOPGATE_TEST_POSTGRES_URL")
    targets = (options.targets.split(",") if options.targets
               else ["noop", "sqlite"] + (["postgres"] if postgres_url else []))
    for target in targets:
        if target not in ("noop", "sqlite", "postgres", "sqlite+redis", "postgres+redis"):
            parser.error(f"unknown target {target!r}")
        if target.endswith("+redis") and not os.environ.get("LOOPGATE_TEST_REDIS_URL"):
            parser.error(f"{target} needs LOOPGATE_TEST_REDIS_URL: run under scripts/testenv.py")
    require_postgres(parser, targets, postgres_url, "ingest.py")

    if options.pool:
        n = options.pool
    elif options.requests is None:
        n = int(20_000 * (options.warmup + options.seconds + 1))
    else:
        n = int(options.requests + 20_000 * (options.warmup + 1))
    started = time.perf_counter()
    pool = build_pool(n)
    print(f"pre-generated {len(pool):,} signed deliveries ({pool.body_bytes / len(pool):,.0f} B body, "
          f"{len(pool.buf) / len(pool):,.0f} B request) in {time.perf_counter() - started:.1f} s", flush=True)

    results = []
    for target in targets:
        results.append(bench_target(target, pool, options))
    baseline = next((r for r in results if r.target == "noop"), None)
    for r in results:
        r.ratio = r.rps / baseline.rps if baseline and baseline.rps > 0 else None

    command = command_line("ingest.py", any(t != "noop" and t != "sqlite" for t in targets), argv)
    section = report(results, options, pool, command)
    print("\n" + section)
    if options.write_docs:
        write_docs(section, SECTION)
    if options.json:
        write_json(options.json, {"results": [r.__dict__ for r in results], "wrk": options.wrk_result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
