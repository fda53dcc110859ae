"""What the benchmarks (ingest.py, packet.py, gate.py) share: processes, databases, /proc readings, reports.

Not a benchmark itself. Importing it puts the repository root on sys.path, so the
scripts can import `app` after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.integrations.pagerduty.signature import sign  # noqa: E402

SECRET = "bench-secret"
ADMIN_TOKEN = "bench-admin-token"
HOST = "127.0.0.1"
DOCS = ROOT / "docs" / "benchmarks.md"
STANDIN = ROOT / "tests" / "standins" / "pagerduty.py"
FINISHED = ("complete", "partial", "failed")  # packet statuses that end an assembly


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def terminate(proc: subprocess.Popen) -> None:
    """SIGTERM, 30 s to exit, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def event_loop_runner() -> tuple[asyncio.Runner, str]:
    """An asyncio.Runner on uvloop when it is installed: (runner, "uvloop" or "asyncio")."""
    try:
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop), "uvloop"
    except ImportError:
        return asyncio.Runner(), "asyncio"


class Server:
    """One uvicorn worker in a subprocess on a free loopback port, started once it answers GET /healthz."""

    def __init__(self, env: dict[str, str], app: str = "app.main:app", *, app_dir: str | None = None,
                 nice: int = 0, log_prefix: str = "loopgate-bench-uvicorn-") -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=log_prefix, suffix=".log", delete=False)
        self.loop = "uvloop" if importable("uvloop") else "asyncio"
        self.http = "httptools" if importable("httptools") else "h11"
        cmd = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(self.port),
               "--no-access-log", "--log-level", "warning"]
        if app_dir:
            cmd += ["--app-dir", app_dir]
        self.cmd = cmd + ["--loop", self.loop, "--http", self.http]
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if nice:
            renice(self.proc.pid, nice)
        self.url = f"http://{HOST}:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                text = self.log_text()
                self.log.close()
                self.remove_log()
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}:\n{text[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not answer /healthz within 60 s:\n{self.log_text()[-3000:]}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def warnings(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if re.search(r"WARNING|ERROR|Traceback", line)]

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()

    def remove_log(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)

    def close(self, keep_log: bool = False) -> bool:
        """Stop it and remove its log unless `keep_log`; whether the log is kept."""
        self.stop()
        if not keep_log:
            self.remove_log()
        return keep_log


def renice(pid: int, nice: int) -> None:
    """Every thread of `pid` (a shared machine: other work must not decide the figures)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, int(task), nice)


def standin_start(index: int) -> dt.datetime:
    """When the stand-in's incident `index` was created (its __main__ spaces them 6 h apart from 2025-01-01)."""
    return dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=6 * index)


class StandIn:
    """tests/standins/pagerduty.py in its own process (its threads do not share a GIL with the code under test)."""

    def __init__(self, *, incidents: int, log_entries: int, alerts: int, notes: int, latency: float | None = None,
                 fast_paging: bool = True, nodelay: bool = True, request_log: bool = False) -> None:
        self.request_log = (tempfile.NamedTemporaryFile(prefix="loopgate-bench-pd-", suffix=".jsonl",
                                                        delete=False).name if request_log else None)
        self.cmd = [sys.executable, str(STANDIN), "--incidents", str(incidents), "--log-entries", str(log_entries),
                    "--alerts", str(alerts), "--notes", str(notes)]
        if latency is not None:
            self.cmd += ["--latency", str(latency)]
        self.cmd += ["--distinct-notes"]
        if self.request_log:
            self.cmd += ["--request-log", self.request_log]
        self.cmd += (["--fast-paging"] if fast_paging else []) + (["--tcp-nodelay"] if nodelay else [])
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the PagerDuty stand-in exited with {self.proc.wait()}")
        info = json.loads(line)
        self.url, self.ca_bundle, self.token = info["url"], info["ca_bundle_path"], info["token"]
        self.incident_ids: list[str] = info["incident_ids"]
        self.records: list[dict[str, Any]] = []

    def stop(self) -> list[dict[str, Any]]:
        """Stop it and return its request log (empty without request_log)."""
        terminate(self.proc)
        if self.request_log:
            with contextlib.suppress(OSError):
                self.records = [json.loads(line) for line in Path(self.request_log).read_text().splitlines()
                                if line]
                os.unlink(self.request_log)
        return self.records


def server_env(database_url: str | None, standin: StandIn | None = None,
               extra: list[str] | None = None) -> dict[str, str]:
    """This environment without LOOPGATE_*, plus the benchmark's secrets, database and stand-in (KEY=VALUE extras)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPGATE_")}
    env.update(LOOPGATE_PAGERDUTY_WEBHOOK_SECRETS=SECRET, LOOPGATE_ADMIN_TOKEN=ADMIN_TOKEN, PYTHONUNBUFFERED="1")
    if database_url:
        env["LOOPGATE_DATABASE_URL"] = database_url
    if standin is not None:
        env.update(LOOPGATE_PAGERDUTY_API_URL=standin.url, LOOPGATE_PAGERDUTY_API_TOKEN=standin.token,
                   LOOPGATE_CA_BUNDLE=standin.ca_bundle)
    for pair in extra or []:
        key, _, value = pair.partition("=")
        env[key] = value
    return env


# --------------------------------------------------------------------------- /proc readings


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds(columns: int | None = None) -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far; busy is all but idle and iowait.

    columns: how many of /proc/stat's cpu columns to add up (None: all of them; 8 stops before guest time).
    """
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    if columns is not None:
        values = values[:columns]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    """A fresh, migrated database: its URL and how to remove it."""

    kind: str
    url: str
    cleanup: Any = None
    path: str | None = None  # SQLite
    dsn: str | None = None  # PostgreSQL (asyncpg form)


def sqlite_database(prefix: str = "loopgate-bench-", cls: type[Database] = Database) -> Database:
    from app.core.migrations import upgrade

    folder = tempfile.mkdtemp(prefix=prefix)
    path = os.path.join(folder, "bench.db")
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return cls("sqlite", url, cleanup=lambda: shutil.rmtree(folder, ignore_errors=True), path=path)


def postgres_database(test_url: str, prefix: str = "loopgate_bench", cls: type[Database] = Database) -> Database:
    """A new database next to `test_url` (CREATE DATABASE), migrated; cleanup drops it."""
    import asyncpg

    from app.core.migrations import upgrade

    if not test_url.startswith("postgresql+asyncpg://"):
        raise SystemExit(f"LOOPGATE_TEST_POSTGRES_URL must be postgresql+asyncpg://..., got {test_url!r}")
    admin_dsn = "postgresql://" + test_url.removeprefix("postgresql+asyncpg://")
    name = f"{prefix}_{os.getpid()}_{time.time_ns() % 10**9}"
    base = admin_dsn.rsplit("/", 1)[0]

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    url = test_url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return cls("postgres", url, dsn=f"{base}/{name}",
               cleanup=lambda: asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def open_database(backend: str, *, sqlite_prefix: str = "loopgate-bench-", postgres_prefix: str = "loopgate_bench",
                  cls: type[Database] = Database) -> Database:
    """`sqlite` or `postgres` (next to LOOPGATE_TEST_POSTGRES_URL)."""
    if backend == "sqlite":
        return sqlite_database(sqlite_prefix, cls)
    return postgres_database(os.environ["LOOPGATE_TEST_POSTGRES_URL"], postgres_prefix, cls)


# --------------------------------------------------------------------------- webhooks


def signature(raw: bytes) -> str:
    """X-PagerDuty-Signature of a body, with the benchmark's secret."""
    return sign(raw, SECRET.encode())


def webhook_headers(raw: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": signature(raw)}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def incident_event(event_id: str, event_type: str, occurred_at: str, incident_id: str, *, status: str,
                   created_at: str) -> dict[str, Any]:
    """A v3 incident event with a full incident snapshot (the shape of tests/pagerduty.py's incident_event)."""
    data = {
        "id": incident_id, "type": "incident", "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}", "number": 1, "status": status,
        "title": "Checkout API p99 latency > 2s in prod-eu-1", "incident_key": None, "created_at": created_at,
        "service": {"id": "PSV81QA", "summary": "Checkout API", "type": "service_reference"},
        "assignees": [], "teams": [{"id": "PTM0PAY", "summary": "Payments", "type": "team_reference"}],
        "priority": {"id": "PPR1SEV", "summary": "P1", "type": "priority_reference"},
        "urgency": "high", "conference_bridge": None, "resolve_reason": None,
    }
    agent_type = "service_reference" if event_type == "incident.triggered" else "user_reference"
    return {"event": {"id": event_id, "event_type": event_type, "resource_type": "incident",
                      "occurred_at": occurred_at, "client": None, "data": data,
                      "agent": {"id": "PK3R9TY", "type": agent_type, "summary": "Dana Whitfield"}}}


# --------------------------------------------------------------------------- py-spy


def find_py_spy() -> str | None:
    """py-spy on PATH or next to this Python; None when there is none."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return py_spy if os.access(py_spy, os.X_OK) else None


def short_frame(frame: str) -> str:
    """`func (path/to/module.py:12)` → `func (module.py)`, folding line numbers together."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    parts = Path(path).parts
    if "site-packages" in parts:
        short = "/".join(parts[parts.index("site-packages") + 1:])
    elif path.startswith(str(ROOT) + "/"):
        short = str(Path(path).relative_to(ROOT))
    elif path.startswith("app/"):
        short = path
    else:
        short = "/".join(parts[-2:])
    return f"{func} ({short})"


def part_of(frames: list[str], parts: tuple[tuple[str, tuple[str, ...]], ...], other: str) -> str:
    """The first part with a needle in any of the frames (`other` when none)."""
    for name, needles in parts:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return other


# --------------------------------------------------------------------------- reports


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank; NaN when there are no values."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p * len(sorted_values)) - 1)]


def markdown(rows: list[tuple]) -> str:
    """A Markdown table, the first row its header, columns padded to their widest cell."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine_note(packages: tuple[str, ...]) -> str:
    """Cores, CPU model, Python, kernel and the versions of `packages` (those installed)."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for name in packages:
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}; " + ", ".join(versions))


def section_head(section: str, command: str, packages: tuple[str, ...]) -> list[str]:
    """The first lines of a docs section: its heading, when and where it ran, the command."""
    return [
        section, "",
        f"Run {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} on {machine_note(packages)}.", "",
        "```", command, "```", "",
    ]


def write_docs(section: str, heading: str) -> None:
    """Replace the `heading` section of docs/benchmarks.md with `section` (or append it)."""
    text = (DOCS.read_text() if DOCS.exists()
            else "# Benchmarks\n\nMeasured figures; each section says how to reproduce it.\n")
    start = text.find("\n" + heading + "\n")
    if start < 0 and text.startswith(heading + "\n"):
        before, after = "", text[len(heading) + 1:]
    elif start < 0:
        before, after = text.rstrip("\n") + "\n\n", ""
    else:
        before, after = text[:start + 1], text[start + 1 + len(heading) + 1:]
    if after:
        following = re.search(r"^## ", after, re.M)
        after = after[following.start():] if following else ""
    new = before + section.rstrip("\n") + "\n" + ("\n" + after if after else "")
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(new)
    print(f"wrote {DOCS.relative_to(ROOT)}", flush=True)


def write_json(path: str, data: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, default=str))


# --------------------------------------------------------------------------- command line


def new_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of a script's docstring (the rest is not shown)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_output_options(parser: argparse.ArgumentParser, section: str) -> None:
    parser.add_argument("--write-docs", action="store_true", help=f"replace '{section}' in docs/benchmarks.md")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def require_postgres(parser: argparse.ArgumentParser, targets: list[str], postgres_url: str | None,
                     script: str) -> None:
    """A postgres target needs LOOPGATE_TEST_POSTGRES_URL; without it, say PostgreSQL is skipped."""
    if any(t.startswith("postgres") for t in targets) and not postgres_url:
        parser.error("postgres needs LOOPGATE_TEST_POSTGRES_URL: run under scripts/testenv.py")
    if not postgres_url:
        print("LOOPGATE_TEST_POSTGRES_URL is not set: PostgreSQL skipped "
              f"(run as `python scripts/testenv.py -- .venv/bin/python bench/{script}`)", flush=True)


def backend_targets(parser: argparse.ArgumentParser, value: str | None, script: str) -> list[str]:
    """--targets of sqlite and postgres (default: sqlite, and postgres when LOOPGATE_TEST_POSTGRES_URL is set)."""
    postgres_url = os.environ.get("LOOPGATE_TEST_POSTGRES_URL")
    targets = value.split(",") if value else ["sqlite"] + (["postgres"] if postgres_url else [])
    for target in targets:
        if target not in ("sqlite", "postgres"):
            parser.error(f"unknown target {target!r}")
    require_postgres(parser, targets, postgres_url, script)
    return targets


def command_line(script: str, testenv: bool, argv: list[str] | None) -> str:
    """How this run was started, as the docs section shows it."""
    command = ("python scripts/testenv.py -- " if testenv else "") + f".venv/bin/python bench/{script} " \
        + " ".join(argv if argv is not None else sys.argv[1:])
    return command.strip()
