#!/usr/bin/env python3
"""Event Packet benchmark: from the resolve webhook's 202 to a `complete` packet.

Not a test. Per target (a fresh SQLite file; a fresh PostgreSQL database when
LOOPGATE_TEST_POSTGRES_URL is set) it starts one uvicorn worker of Loopgate in a
subprocess and the PagerDuty stand-in (tests/standins/pagerduty.py) in another, so
the stand-in's threads do not share a GIL with the code under test.

Time: the stand-in answers every request after --latency (0.1 s). Each incident
has --log-entries (1,000 = 10 pages of 100), --alerts (300 = 3 pages) and
--notes (20). For each of --runs fresh incidents (after one warm-up incident that
is reported but not counted): a signed `incident.triggered` webhook, wait until
the incident exists, then a signed `incident.resolved`; t0 is when its 202
arrives; GET /api/v1/incidents/{id}/packet every --poll seconds until the status
is complete (or partial/failed, which is reported). The bound is the critical
path: 1 incident call + 10 sequential log-entry pages = 11 x latency (1.1 s); the
target is elapsed <= 1.5 x bound. The stand-in's request log (monotonic
timestamps of each request's arrival and answer) splits every run into: dispatch
(202 -> first PagerDuty request), the page chain (and the app's gap between one
page's answer and the next page's request), finish (last answer -> assembled_at)
and observe (assembled_at -> the poll that saw it).

Memory: a fresh uvicorn and stand-in (latency --memory-latency, default 0) and two
incidents of --memory-log-entries (10,000 = 100 pages). Before each resolve the
uvicorn process's peak RSS is reset (/proc/PID/clear_refs, "5"); VmRSS is also
sampled every 10 ms. Growth = peak RSS while assembling - RSS just before the
resolve; completion is read from the database, so the growth does not include
serving the packet; serving it is then measured separately (one GET).

Usage (from the repository root):
    .venv/bin/python bench/packet.py
    .venv/bin/python scripts/testenv.py -- .venv/bin/python bench/packet.py --write-docs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness import (ADMIN_TOKEN, FINISHED, Database, Server, StandIn, add_output_options, backend_targets,
                     command_line, cpu_seconds, incident_event, iso, machine_busy_seconds, markdown, new_parser,
                     open_database, section_head, standin_start, webhook_headers, write_docs, write_json)
from harness import server_env as base_server_env

SECTION = "## Event Packet: resolve → complete"
PAGE_SIZE = 100
TARGET_RATIO = 1.5
MEMORY_LIMIT_MB = 100.0
MB = 1024 * 1024
SLOW_GAP = 0.03  # an app gap between two log pages longer than this is listed under the tables


# --------------------------------------------------------------------------- processes


def standin_options(options: argparse.Namespace) -> dict[str, bool]:
    return {"fast_paging": options.standin_paging == "fast", "nodelay": options.standin_nodelay,
            "request_log": True}


def server_env(database_url: str, standin: StandIn, gc_log: GcLog | None = None) -> dict[str, str]:
    env = base_server_env(database_url, standin)
    if gc_log is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (gc_log.folder, env.get("PYTHONPATH")) if p)
        env["BENCH_PACKET_GC_LOG"] = gc_log.path
    return env


# A sitecustomize for the server process only: it logs every garbage collection of the
# oldest generation, and any other that takes 1 ms or more, on time.monotonic(). App code is untouched.
GC_PROBE = """\
import gc, os, time
_path = os.environ.get("BENCH_PACKET_GC_LOG")
if _path:
    _out = open(_path, "a", buffering=1)
    _started = [0.0]

    def _probe(phase, info, _out=_out, _started=_started, _now=time.monotonic):
        if phase == "start":
            _started[0] = _now()
            return
        end = _now()
        if info["generation"] == 2 or end - _started[0] >= 0.001:
            _out.write(f"{_started[0]:.6f} {end:.6f} {info['generation']} {info['collected']}\\n")

    gc.callbacks.append(_probe)
"""


class GcLog:
    """Where the server's garbage-collection pauses are logged (see GC_PROBE)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="loopgate-bench-gc-")
        Path(self.folder, "sitecustomize.py").write_text(GC_PROBE)
        self.path = os.path.join(self.folder, "gc.log")

    def pauses(self) -> list[tuple[float, float, int]]:
        """(start, end, generation) of every logged collection."""
        with contextlib.suppress(OSError):
            return [(float(a), float(b), int(g)) for a, b, g, _ in
                    (line.split() for line in Path(self.path).read_text().splitlines() if line.count(" ") == 3)]
        return []

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def overlap(pauses: list[tuple[float, float, int]], start: float, end: float, generation: int | None = None) -> float:
    """Seconds of garbage collection inside [start, end]."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b, g in pauses if generation is None or g == generation)


# --------------------------------------------------------------------------- databases


@dataclass
class PacketDatabase(Database):
    """A fresh, migrated database with a packet-status probe."""

    _loop: Any = None
    _connection: Any = None

    STATUS_SQL = ("SELECT p.status FROM event_packets p JOIN incidents i ON i.id = p.incident_id "
                  "WHERE i.external_id = {} ORDER BY p.version DESC LIMIT 1")

    def packet_status(self, external_id: str) -> str | None:
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as connection:
                row = connection.execute(self.STATUS_SQL.format("?"), (external_id,)).fetchone()
            return row[0] if row else None
        if self._connection is None:
            import asyncpg

            self._loop = asyncio.new_event_loop()
            self._connection = self._loop.run_until_complete(asyncpg.connect(self.dsn))
        return self._loop.run_until_complete(self._connection.fetchval(self.STATUS_SQL.format("$1"), external_id))

    def close(self) -> None:
        if self._connection is not None:
            self._loop.run_until_complete(self._connection.close())
            self._loop.close()
            self._connection = self._loop = None
        if self.cleanup:
            self.cleanup()


def open_packet_database(target: str) -> PacketDatabase:
    return open_database(target, postgres_prefix="loopgate_bench_packet", cls=PacketDatabase)


# --------------------------------------------------------------------------- webhooks


class Client:
    """Signed webhooks and admin API calls to one Loopgate server."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def webhook(self, body: dict[str, Any]) -> tuple[httpx.Response, float]:
        """POST it signed; returns the response and time.monotonic() when it arrived."""
        raw = json.dumps(body).encode()
        response = self.http.post("/webhooks/pagerduty", content=raw, headers=webhook_headers(raw))
        return response, time.monotonic()

    def trigger(self, incident_id: str, index: int, tag: str) -> None:
        """`incident.triggered`, then wait until Loopgate has the incident."""
        created = standin_start(index)
        response, _ = self.webhook(incident_event(f"{tag}T", "incident.triggered", iso(created), incident_id,
                                                  status="triggered", created_at=iso(created)))
        if response.status_code != 202:
            raise RuntimeError(f"triggered webhook answered {response.status_code}: {response.text}")
        deadline = time.monotonic() + 30
        while self.http.get(f"/api/v1/incidents/{incident_id}", headers=self.auth).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"incident {incident_id} not created within 30 s of its trigger")
            time.sleep(0.01)

    def resolve(self, incident_id: str, index: int, tag: str) -> tuple[float, float]:
        """`incident.resolved` 44 minutes after the trigger: (monotonic, wall clock) when its 202 arrived."""
        created = standin_start(index)
        response, t0 = self.webhook(incident_event(f"{tag}R", "incident.resolved",
                                                   iso(created + dt.timedelta(minutes=44)), incident_id,
                                                   status="resolved", created_at=iso(created)))
        wall0 = time.time() - (time.monotonic() - t0)
        if response.status_code != 202:
            raise RuntimeError(f"resolved webhook answered {response.status_code}: {response.text}")
        return t0, wall0

    def packet(self, incident_id: str) -> tuple[int, dict[str, Any] | None, float]:
        response = self.http.get(f"/api/v1/incidents/{incident_id}/packet", headers=self.auth)
        arrived = time.monotonic()
        return response.status_code, (response.json() if response.status_code == 200 else None), arrived

    def close(self) -> None:
        self.http.close()


# --------------------------------------------------------------------------- checks and the request log


def check_packet(body: dict[str, Any], *, log_entries: int, alerts: int, notes: int) -> list[str]:
    """What is missing from a finished packet (empty: it has everything)."""
    problems = []
    logged = {item["id"] for item in body["timeline"] if item.get("source") == "log_entry"}
    if len(logged) != log_entries:
        problems.append(f"{len(logged)} of {log_entries} log entries in the timeline")
    if len(body["alerts"]) != alerts:
        problems.append(f"{len(body['alerts'])} of {alerts} alerts")
    if len(body["notes"]) != notes:
        problems.append(f"{len(body['notes'])} of {notes} notes")
    if body["gaps"]:
        problems.append(f"gaps: {body['gaps']}")
    return problems


def requests_for(records: list[dict[str, Any]], incident_id: str) -> list[dict[str, Any]]:
    prefix = f"/incidents/{incident_id}"
    return [r for r in records if r["path"] == prefix or r["path"].startswith(prefix + "/")
            or r["path"].startswith(prefix + "?")]


def kind_of(path: str) -> str:
    route = urllib.parse.urlsplit(path).path.rstrip("/").split("/")
    return route[3] if len(route) > 3 else "incident"


def offset_of(path: str) -> int:
    return int(urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("offset", ["0"])[0])


# --------------------------------------------------------------------------- time


@dataclass
class Run:
    target: str
    incident_id: str
    warmup: bool
    status: str
    elapsed: float  # t0 -> the poll that saw the finished status
    to_assembled: float | None  # t0 -> assembled_at (server clock; same machine)
    problems: list[str]
    polls: int
    server_cpu: float  # CPU seconds of the uvicorn process from the trigger to completion
    t0: float  # time.monotonic() when the resolve's 202 arrived
    get_seconds: float  # one more GET of the finished packet, timed on its own
    server_cpu_wait: float  # seconds the server's threads were runnable but had no CPU (trigger -> completion)
    standin_cpu_wait: float  # the same for the stand-in's threads
    # From the stand-in's request log (all relative to t0, seconds):
    dispatch: float | None = None  # first PagerDuty request
    log_pages: int = 0
    log_first_at: float | None = None
    log_last_done: float | None = None
    all_done: float | None = None  # the last PagerDuty answer (any list)
    page_service: list[float] = field(default_factory=list)  # stand-in: request arrival -> answer written
    page_gaps: list[float] = field(default_factory=list)  # app: page k answered -> page k+1 requested
    requests: int = 0
    retried: int = 0
    non_200: int = 0
    timeline: list[tuple[str, float, float]] = field(default_factory=list)  # (request, at, done) from t0
    slow_gaps: list[tuple[int, int, float, float]] = field(default_factory=list)  # (offset, next, gap, GC in it)
    gc_seconds: float | None = None  # the server's GC pauses between t0 and completion (with --gc-log)
    gc_full: list[tuple[float, float]] = field(default_factory=list)  # full (generation 2) collections, from t0

    @property
    def finish(self) -> float | None:
        """Last PagerDuty answer -> assembled_at: build_content, sha256 and the UPDATE."""
        return None if self.to_assembled is None or self.all_done is None else self.to_assembled - self.all_done

    @property
    def observe(self) -> float | None:
        return None if self.to_assembled is None else self.elapsed - self.to_assembled


def run_delays(pid: int) -> dict[str, int]:
    """Per thread of a process: nanoseconds spent runnable but waiting for a CPU (/proc/PID/task/TID/schedstat)."""
    delays = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            delays[task.name] = int((task / "schedstat").read_text().split()[1])
    return delays


def waited(before: dict[str, int], after: dict[str, int]) -> float:
    """Seconds the process's threads waited for a CPU between two run_delays() readings."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e9


def wait_finished(client: Client, incident_id: str, poll: float, timeout: float
                  ) -> tuple[str, dict[str, Any] | None, float, int]:
    """Poll the packet until its status is finished: (status, body, monotonic when seen, polls)."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        code, body, arrived = client.packet(incident_id)
        polls += 1
        if code == 200 and body["status"] in FINISHED:
            return body["status"], body, arrived, polls
        if code not in (200, 404):
            raise RuntimeError(f"GET packet answered {code}")
        if arrived > deadline:
            return (body or {}).get("status", "missing"), body, arrived, polls
        time.sleep(max(0.0, poll - (time.monotonic() - arrived)))


def time_runs(target: str, options: argparse.Namespace) -> tuple[list[Run], dict[str, Any]]:
    standin = StandIn(incidents=options.runs + 1, log_entries=options.log_entries, alerts=options.alerts,
                      notes=options.notes, latency=options.latency, **standin_options(options))
    db = server = client = None
    runs: list[Run] = []
    meta: dict[str, Any] = {}
    gc_log = GcLog() if options.gc_log else None
    try:
        db = open_packet_database(target)
        server = Server(server_env(db.url, standin, gc_log))
        meta.update(loop=server.loop, http=server.http)
        print(f"  uvicorn pid {server.pid} on {server.url}; stand-in pid {standin.proc.pid} on {standin.url}",
              flush=True)
        client = Client(server)
        busy0 = machine_busy_seconds()
        server_cpu0 = cpu_seconds(server.pid)
        for index, incident_id in enumerate(standin.incident_ids):
            cpu0 = cpu_seconds(server.pid)
            delays0 = run_delays(server.pid), run_delays(standin.proc.pid)
            tag = f"01LGBPKT{target[:2].upper()}{index:04d}"
            client.trigger(incident_id, index, tag)
            t0, wall0 = client.resolve(incident_id, index, tag)
            status, body, seen, polls = wait_finished(client, incident_id, options.poll, options.timeout)
            cpu = cpu_seconds(server.pid) - cpu0
            cpu_wait = waited(delays0[0], run_delays(server.pid)), waited(delays0[1], run_delays(standin.proc.pid))
            started = time.monotonic()
            _, _, got = client.packet(incident_id)
            get_seconds = got - started
            assembled = None
            if body and body.get("assembled_at"):
                assembled = dt.datetime.fromisoformat(body["assembled_at"]).timestamp() - wall0
            problems = (check_packet(body, log_entries=options.log_entries, alerts=options.alerts, notes=options.notes)
                        if body and status in FINISHED else [f"status {status} after {options.timeout:g} s"])
            runs.append(Run(target, incident_id, index == 0, status, seen - t0, assembled, problems, polls, cpu,
                            t0, get_seconds, *cpu_wait))
            label = "warm-up" if index == 0 else f"run {index}"
            print(f"  {target} {label}: {status} in {seen - t0:.3f} s "
                  f"(assembled_at +{assembled if assembled is not None else float('nan'):.3f} s, {polls} polls)"
                  + (f" PROBLEMS: {problems}" if problems else ""), flush=True)
        busy1 = machine_busy_seconds()
        meta["server_cpu"] = cpu_seconds(server.pid) - server_cpu0
        meta["machine_cpu"] = busy1[0] - busy0[0]
        meta["wall"] = (busy1[1] - busy0[1]) / (os.cpu_count() or 1)
        meta["warnings"] = server.warnings()
    finally:
        if client:
            client.close()
        if server and server.close(options.keep_logs):
            print(f"  uvicorn log: {server.log.name}")
        records = standin.stop()
        if db:
            db.close()
    pauses = gc_log.pauses() if gc_log else []
    for run in runs:
        analyse(run, requests_for(records, run.incident_id), run.t0, pauses if gc_log else None)
    if gc_log:
        gc_log.remove()
    return runs, meta


def analyse(run: Run, records: list[dict[str, Any]], t0: float,
            pauses: list[tuple[float, float, int]] | None) -> None:
    """Place each of the run's PagerDuty requests on its time line (relative to t0), and the server's GC pauses."""
    if pauses is not None:
        run.gc_seconds = overlap(pauses, t0, t0 + run.elapsed)
        run.gc_full = [(a - t0, b - t0) for a, b, g in pauses if g == 2 and b > t0 and a < t0 + run.elapsed]
    if not records:
        return
    run.requests = len(records)
    run.non_200 = sum(1 for r in records if r["status"] != 200)
    run.dispatch = min(r["at"] for r in records) - t0
    run.all_done = max((r["done"] or r["at"]) for r in records) - t0
    logs = sorted((r for r in records if kind_of(r["path"]) == "log_entries"), key=lambda r: r["at"])
    seen: set[int] = set()
    for r in logs:
        run.retried += offset_of(r["path"]) in seen
        seen.add(offset_of(r["path"]))
    run.log_pages = len(logs)
    if logs:
        run.log_first_at = logs[0]["at"] - t0
        run.log_last_done = (logs[-1]["done"] or logs[-1]["at"]) - t0
        run.page_service = [r["done"] - r["at"] for r in logs if r["done"]]
        run.page_gaps = [b["at"] - a["done"] for a, b in zip(logs, logs[1:]) if a["done"]]
        run.slow_gaps = [(offset_of(a["path"]), offset_of(b["path"]), b["at"] - a["done"],
                          overlap(pauses or [], a["done"], b["at"]))
                         for a, b in zip(logs, logs[1:]) if a["done"] and b["at"] - a["done"] > SLOW_GAP]
    run.timeline = sorted(((kind_of(r["path"]) + (f"@{offset_of(r['path'])}" if "offset" in r["path"] else ""),
                            r["at"] - t0, (r["done"] or r["at"]) - t0) for r in records), key=lambda x: x[1])


# --------------------------------------------------------------------------- memory


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0; needs to own the process)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler(threading.Thread):
    """VmRSS of a process every `interval` seconds; keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb, self.samples = pid, interval, 0, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.peak_kb = max(self.peak_kb, rss_kb(self.pid))
                self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_kb


@dataclass
class MemoryRun:
    target: str
    incident_id: str
    label: str
    status: str
    seconds: float
    baseline_mb: float
    peak_mb: float  # while assembling (max of the reset VmHWM and the 10 ms samples)
    growth_mb: float
    sampled_growth_mb: float
    serve_peak_mb: float  # peak RSS while serving the finished packet (one GET)
    serve_growth_mb: float  # that peak - RSS just before the GET
    after_mb: float  # RSS once served
    hwm_reset: bool
    problems: list[str]
    response_mb: float
    get_seconds: float


def memory_runs(target: str, options: argparse.Namespace) -> list[MemoryRun]:
    standin = StandIn(incidents=2, log_entries=options.memory_log_entries, alerts=options.alerts, notes=options.notes,
                      latency=options.memory_latency, **standin_options(options))
    db = server = client = None
    results = []
    try:
        db = open_packet_database(target)
        server = Server(server_env(db.url, standin))
        client = Client(server)
        for index, incident_id in enumerate(standin.incident_ids):
            label = "first (cold)" if index == 0 else "second (warm)"
            tag = f"01LGBMEM{target[:2].upper()}{index:04d}"
            client.trigger(incident_id, index, tag)
            time.sleep(0.5)  # let the trigger's job and its allocations settle
            baseline = rss_kb(server.pid)
            hwm_reset = reset_peak(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            t0, _ = client.resolve(incident_id, index, tag)
            deadline = t0 + options.timeout
            while (status := db.packet_status(incident_id)) not in FINISHED and time.monotonic() < deadline:
                time.sleep(0.02)
            seconds = time.monotonic() - t0
            sampled = sampler.stop()
            hwm = rss_kb(server.pid, "VmHWM") if hwm_reset else 0
            peak = max(sampled, hwm)
            # Serving the finished packet, separately.
            before_get = rss_kb(server.pid)
            reset_peak(server.pid)
            serve_sampler = Sampler(server.pid)
            serve_sampler.start()
            started = time.monotonic()
            response = client.http.get(f"/api/v1/incidents/{incident_id}/packet", headers=client.auth)
            get_seconds = time.monotonic() - started
            serve_peak = max(serve_sampler.stop(), rss_kb(server.pid, "VmHWM") if hwm_reset else 0)
            body = response.json() if response.status_code == 200 else None
            problems = (check_packet(body, log_entries=options.memory_log_entries, alerts=options.alerts,
                                     notes=options.notes) if body else [f"GET packet {response.status_code}"])
            if status != "complete":
                problems.append(f"status {status}")
            time.sleep(0.5)
            after = rss_kb(server.pid)
            results.append(MemoryRun(
                target, incident_id, label, status or "missing", seconds, baseline / 1024, peak / 1024,
                (peak - baseline) / 1024, (sampled - baseline) / 1024, serve_peak / 1024,
                (serve_peak - before_get) / 1024, after / 1024, hwm_reset, problems, len(response.content) / MB,
                get_seconds))
            r = results[-1]
            print(f"  {target} memory {label}: {status} in {seconds:.2f} s; RSS {r.baseline_mb:.1f} MB -> peak "
                  f"{r.peak_mb:.1f} MB (+{r.growth_mb:.1f} MB; sampled +{r.sampled_growth_mb:.1f}); serving the "
                  f"{r.response_mb:.1f} MB packet ({r.get_seconds:.2f} s): +{r.serve_growth_mb:.1f} MB more; "
                  f"after {r.after_mb:.1f} MB"
                  + (f" PROBLEMS: {problems}" if problems else ""), flush=True)
    finally:
        if client:
            client.close()
        if server:
            server.close(options.keep_logs)
        standin.stop()
        if db:
            db.close()
    return results


# --------------------------------------------------------------------------- report


def _f(value: float | None, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def _med(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


PACKAGES = ("uvicorn", "fastapi", "sqlalchemy", "aiosqlite", "asyncpg", "uvloop", "httptools", "pagerduty")


def time_table(all_runs: dict[str, list[Run]], bound: float) -> str:
    rows = [("target", "runs", "median s", "max s", "bound s", "median ratio", "max ratio",
             f"≤ {TARGET_RATIO:g}× bound", "packet check", "warm-up s")]
    for target, runs in all_runs.items():
        measured = [r for r in runs if not r.warmup]
        warm = next((r for r in runs if r.warmup), None)
        elapsed = [r.elapsed for r in measured]
        ok = all(r.status == "complete" and not r.problems for r in runs)
        rows.append((target, len(measured), _f(statistics.median(elapsed)), _f(max(elapsed)), _f(bound),
                     _f(statistics.median(elapsed) / bound, ".2f"), _f(max(elapsed) / bound, ".2f"),
                     "yes" if max(elapsed) <= TARGET_RATIO * bound else "**no**",
                     "all complete, all items" if ok else "**see notes**", _f(warm.elapsed if warm else None)))
    return markdown(rows)


def breakdown_table(all_runs: dict[str, list[Run]]) -> str:
    rows = [("target", "202 → first PD request", "first → last log page answered", "log page served (stand-in)",
             "app gap between pages", "last PD answer → assembled_at", "assembled_at → seen",
             "GET of the finished packet", "server CPU s / run", "waited for a CPU: server / stand-in")]
    for target, runs in all_runs.items():
        measured = [r for r in runs if not r.warmup]
        chain = [None if r.log_first_at is None else r.log_last_done - r.log_first_at for r in measured]
        service = [s for r in measured for s in r.page_service]
        gaps = [g for r in measured for g in r.page_gaps]
        rows.append((target, _f(_med([r.dispatch for r in measured])), _f(_med(chain)),
                     f"{_f(_med(service))} (max {_f(max(service) if service else None)})",
                     f"{_f(_med(gaps))} (max {_f(max(gaps) if gaps else None)})",
                     _f(_med([r.finish for r in measured])), _f(_med([r.observe for r in measured])),
                     _f(_med([r.get_seconds for r in measured])), _f(_med([r.server_cpu for r in measured]), ".2f"),
                     f"{_f(_med([r.server_cpu_wait for r in measured]))} / "
                     f"{_f(_med([r.standin_cpu_wait for r in measured]))}"))
    return markdown(rows)


def runs_table(all_runs: dict[str, list[Run]]) -> str:
    rows = [("target", "run", "status", "elapsed s", "ratio", "assembled_at s", "PD requests", "log pages",
             "polls", "server CPU s", "waited for a CPU s: server / stand-in", "server GC s (full collections)")]
    for target, runs in all_runs.items():
        for i, r in enumerate(runs):
            rows.append((target, "warm-up" if r.warmup else str(i), r.status, _f(r.elapsed),
                         _f(r.elapsed / BOUND_HOLDER[0], ".2f"), _f(r.to_assembled), r.requests, r.log_pages, r.polls,
                         _f(r.server_cpu, ".2f"), f"{_f(r.server_cpu_wait)} / {_f(r.standin_cpu_wait)}", _gc_cell(r)))
    return markdown(rows)


BOUND_HOLDER = [1.1]


def _gc_cell(run: Run) -> str:
    if run.gc_seconds is None:
        return "–"
    full = ", ".join(f"{(b - a) * 1000:.0f} ms at +{a:.2f} s" for a, b in run.gc_full)
    return f"{run.gc_seconds:.3f}" + (f" ({full})" if full else "")


def memory_table(all_mem: dict[str, list[MemoryRun]]) -> str:
    rows = [("target", "incident", "status", "assembly s", "RSS before MB", "peak MB", "growth MB",
             f"≤ {MEMORY_LIMIT_MB:g} MB", "serving it: + MB (body MB, s)", "RSS after MB")]
    for target, results in all_mem.items():
        for r in results:
            serving = f"{_f(r.serve_growth_mb, '.1f')} ({_f(r.response_mb, '.1f')} MB, {_f(r.get_seconds, '.2f')} s)"
            rows.append((target, r.label, r.status, _f(r.seconds, ".2f"), _f(r.baseline_mb, ".1f"),
                         _f(r.peak_mb, ".1f"),
                         _f(r.growth_mb, ".1f"), "yes" if r.growth_mb <= MEMORY_LIMIT_MB else "**no**", serving,
                         _f(r.after_mb, ".1f")))
    return markdown(rows)


def report(all_runs: dict[str, list[Run]], all_mem: dict[str, list[MemoryRun]], meta: dict[str, dict[str, Any]],
           options: argparse.Namespace, command: str) -> str:
    bound = BOUND_HOLDER[0]
    pages = -(-options.log_entries // PAGE_SIZE)
    lines = section_head(SECTION, command, PACKAGES) + [
        f"One uvicorn worker of Loopgate (jobs in-process, no Redis) and the PagerDuty stand-in "
        f"(`tests/standins/pagerduty.py` in its own process, over TLS) answering every request after "
        f"{options.latency * 1000:g} ms. Each incident has {options.log_entries:,} log entries ({pages} pages of "
        f"{PAGE_SIZE}), {options.alerts} alerts and {options.notes} notes (distinct texts). Per run: a signed "
        f"`incident.triggered`, wait until the incident exists, a signed `incident.resolved`; the clock starts at "
        f"its 202 and stops at the `GET …/packet` (every {options.poll * 1000:g} ms) that first shows `complete`. "
        f"Bound = the critical path, 1 incident call + {pages} sequential log pages = {pages + 1} × "
        f"{options.latency * 1000:g} ms = {bound:.1f} s; target ≤ {TARGET_RATIO:g}× bound. {options.runs} fresh "
        f"incidents after one warm-up incident (shown, not counted). Every finished packet was checked to hold "
        f"every log entry, alert and note, with no gaps.", "",
        time_table(all_runs, bound), "",
        "Where the time goes (medians over the measured runs, seconds). PagerDuty request times come from the "
        "stand-in's request log (`time.monotonic()`, the same clock as the benchmark's); `assembled_at` is the "
        "server's wall clock on the same machine. `log page served` is the stand-in's time from reading a request "
        "to having written the answer (latency included); `app gap` is Loopgate's time from that answer to its "
        "request for the next page. `waited for a CPU` sums, over each process's threads, the time they were "
        "runnable but not running (`/proc/PID/task/*/schedstat`), from the trigger to completion: the machine is "
        "shared. Server GC is logged by a `gc.callbacks` probe loaded through `sitecustomize` (`--no-gc-log` to "
        "leave it out)." + (" Stand-in options: `--fast-paging` (copies only the page it answers; its general "
                            "route deep-copies the whole list per request, ~25 ms a page at 1,000 entries) and "
                            "`--tcp-nodelay` (it writes headers and body separately; without it Nagle's algorithm "
                            "and the client's delayed ACK hold about one page per run ~40 ms)."
                            if options.standin_paging == "fast" and options.standin_nodelay else
                            f" Stand-in paging: {options.standin_paging}, TCP_NODELAY: {options.standin_nodelay}."),
        "",
        breakdown_table(all_runs), "",
        "<details><summary>Every run</summary>", "", runs_table(all_runs), "", "</details>", "",
    ]
    if all_mem:
        lines += [
            f"Memory: a fresh uvicorn worker and stand-in (latency {options.memory_latency * 1000:g} ms), incidents of "
            f"{options.memory_log_entries:,} log entries ({-(-options.memory_log_entries // PAGE_SIZE)} pages), "
            f"{options.alerts} alerts, {options.notes} notes. Before each resolve the worker's peak RSS is reset "
            f"(`/proc/PID/clear_refs` = 5) and VmRSS is also sampled every 10 ms; growth = peak RSS until the "
            f"packet row is `complete` (read from the database, so not counting serving it) − RSS just before the "
            f"resolve. Target: growth ≤ {MEMORY_LIMIT_MB:g} MB. Serving the finished packet (one `GET`) is "
            f"measured after it the same way, from the RSS just before that GET. The first incident is the "
            f"worker's first assembly (the target applies to it); the second shows a warm worker, which reuses "
            f"memory the first freed but kept (CPython and malloc rarely give it back, see `RSS after`).", "",
            memory_table(all_mem), "",
        ]
    notes = []
    for target, runs in all_runs.items():
        for r in runs:
            if r.problems or r.status != "complete":
                notes.append(f"- {target} {r.incident_id}: {r.status}; {'; '.join(r.problems)}")
            for offset, following, gap, in_gc in r.slow_gaps:
                notes.append(f"- {target} {r.incident_id}{' (warm-up)' if r.warmup else ''}: "
                             f"{gap * 1000:.0f} ms between the answer to log page offset={offset} and the request "
                             f"for offset={following}"
                             + (f"; the server was collecting garbage for {in_gc * 1000:.0f} ms of it"
                                if r.gc_seconds is not None else ""))
            if r.non_200 or r.retried:
                notes.append(f"- {target} {r.incident_id}: {r.non_200} PagerDuty answers were not 200, "
                             f"{r.retried} log pages were requested again")
        m = meta.get(target, {})
        if m.get("warnings"):
            notes.append(f"- {target}: the server logged {len(m['warnings'])} warning/error lines, e.g. "
                         f"`{m['warnings'][0][:200]}`")
        if m.get("wall"):
            other = (m["machine_cpu"] - m["server_cpu"]) / m["wall"]
            notes.append(f"- {target}: during the timed runs the server used {m['server_cpu'] / m['wall']:.0%} of a "
                         f"core and everything else on the machine {other:.0%}"
                         + (" (PostgreSQL, the stand-in and the benchmark included" if target == "postgres"
                            else " (the stand-in and the benchmark included")
                         + f"; 100% = one core; the machine has {os.cpu_count()})")
    for target, results in all_mem.items():
        for r in results:
            if r.problems:
                notes.append(f"- {target} memory {r.label}: {'; '.join(r.problems)}")
            if not r.hwm_reset:
                notes.append(f"- {target} memory {r.label}: /proc/PID/clear_refs was not writable; peak from 10 ms "
                             f"samples only")
    if "postgres" in all_runs or "postgres" in all_mem:
        notes.append("- postgres: the throwaway server from scripts/testenv.py (fsync off).")
    if notes:
        lines += notes + [""]
    return "\n".join(lines)


def print_timelines(all_runs: dict[str, list[Run]]) -> None:
    for target, runs in all_runs.items():
        for r in runs:
            if r.warmup:
                continue
            print(f"\n{target} {r.incident_id}: t0 = resolve 202 (monotonic {r.t0:.4f}); "
                  f"complete seen at {r.elapsed:.3f} s, "
                  f"assembled_at {_f(r.to_assembled)} s; server GC {_gc_cell(r)}; waited for a CPU: server "
                  f"{_f(r.server_cpu_wait)} s, stand-in {_f(r.standin_cpu_wait)} s")
            for name, at, done in r.timeline:
                print(f"  {name:<22} {at:7.3f} → {done:7.3f}  ({(done - at) * 1000:6.1f} ms)")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--targets", default=None,
                        help="comma separated: sqlite,postgres (default: sqlite, and postgres when "
                             "LOOPGATE_TEST_POSTGRES_URL is set)")
    parser.add_argument("--runs", type=int, default=5, help="measured incidents per target (after one warm-up)")
    parser.add_argument("--latency", type=float, default=0.1, help="stand-in seconds per request")
    parser.add_argument("--log-entries", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--notes", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between GET packet polls")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up on a packet after this many seconds")
    parser.add_argument("--memory-log-entries", type=int, default=10000)
    parser.add_argument("--memory-latency", type=float, default=0.0)
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--no-time", dest="time", action="store_false")
    parser.add_argument("--standin-paging", choices=("fast", "general"), default="fast",
                        help="the stand-in's --fast-paging (default) or its general route, which deep-copies the "
                             "whole list per page (~25 ms a page at 1,000 entries: stand-in time, not PagerDuty's)")
    parser.add_argument("--standin-nodelay", action=argparse.BooleanOptionalAction, default=True,
                        help="the stand-in's --tcp-nodelay (default on: without it Nagle's algorithm and the "
                             "client's delayed ACK add ~40 ms to some pages, a stand-in artefact)")
    parser.add_argument("--no-gc-log", dest="gc_log", action="store_false",
                        help="do not log the server's garbage-collection pauses (a sitecustomize.py on its "
                             "PYTHONPATH adds a gc.callbacks probe; app code is untouched)")
    parser.add_argument("--timelines", action="store_true", help="print every measured run's PagerDuty requests")
    add_output_options(parser, SECTION)
    parser.add_argument("--keep-logs", action="store_true")
    options = parser.parse_args(argv)

    targets = backend_targets(parser, options.targets, "packet.py")
    pages = -(-options.log_entries // PAGE_SIZE)
    BOUND_HOLDER[0] = (pages + 1) * options.latency

    all_runs: dict[str, list[Run]] = {}
    all_mem: dict[str, list[MemoryRun]] = {}
    meta: dict[str, dict[str, Any]] = {}
    for target in targets:
        if options.time:
            print(f"{target}: timing {options.runs} runs (+1 warm-up) at {options.latency * 1000:g} ms per request",
                  flush=True)
            all_runs[target], meta[target] = time_runs(target, options)
        if options.memory:
            print(f"{target}: memory, {options.memory_log_entries:,} log entries", flush=True)
            all_mem[target] = memory_runs(target, options)

    if options.timelines:
        print_timelines(all_runs)
    command = command_line("packet.py", "postgres" in targets, argv)
    section = report(all_runs, all_mem, meta, options, command) if all_runs else ""
    print("\n" + section)
    if options.write_docs:
        if not all_runs:
            parser.error("--write-docs needs the timed runs")
        write_docs(section, SECTION)
    if options.json:
        write_json(options.json, {
            "bound": BOUND_HOLDER[0], "runs": {t: [r.__dict__ for r in rs] for t, rs in all_runs.items()},
            "memory": {t: [r.__dict__ for r in rs] for t, rs in all_mem.items()}, "meta": meta})
    failed = any(r.status != "complete" or r.problems for rs in all_runs.values() for r in rs)
    failed |= any(r.problems for rs in all_mem.values() for r in rs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
