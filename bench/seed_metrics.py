"""Seed a database with a realistic history for the metrics benchmark (bench/metrics.py, issue 12).

    .venv/bin/python bench/seed_metrics.py sqlite+aiosqlite:////tmp/m.db --scale 0.1
    python scripts/testenv.py -- .venv/bin/python bench/seed_metrics.py \\
        postgresql+asyncpg://postgres@127.0.0.1:PORT/loopgate_metrics --scale 1.0

At scale 1.0: 100,000 incidents over ~3 years (12 services, 6 teams, ~8% with two teams,
~20% repeats whose `repeat_of_id` is the most recent earlier incident with the same
fingerprint inside 90 days), their `incident_teams`, event packets (v1 for ~92% of the
resolved incidents: complete / partial / failed (no pending: see PACKET_STATUSES), ~5% assembled after
the 24 h SLA, ~3% without a stored due time; v2 for ~10%), 20,000 postmortems (1–3
incidents each, mostly critical/high; draft / in_review / published / closed with
published_at / closed_at, an audit entry per close), 100,000 findings with 0–3 tags, and
300,000 action items (priorities, due dates, statuses consistent with completed_at /
closed_at, some completed late, some overdue). `--scale` multiplies every count.

Deterministic: one `random.Random(--seed)`; the history ends at `--end` (a fixed moment in
the past, so the same seed gives the same rows whatever the day). The database is migrated
(`app.core.migrations.upgrade`) and must hold no incidents (`--recreate` drops a PostgreSQL
database / removes a SQLite file first). Rows go in with COPY (asyncpg
`copy_records_to_table`) on PostgreSQL, then ANALYZE; with `executemany` in one
transaction on SQLite (no ANALYZE: the app never runs one).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import random
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UTC = dt.UTC
END = dt.datetime(2026, 11, 1, tzinfo=UTC)
SPAN_DAYS = 1095
LOOKBACK = dt.timedelta(days=90)
DAY = dt.timedelta(days=1)

SERVICES = [("PSVC01", "checkout"), ("PSVC02", "search"), ("PSVC03", "billing"), ("PSVC04", "identity"),
            ("PSVC05", "catalog"), ("PSVC06", "payments-gateway"), ("PSVC07", "notifications"),
            ("PSVC08", "inventory"), ("PSVC09", "shipping"), ("PSVC10", "recommendations"),
            ("PSVC11", "edge-proxy"), ("PSVC12", "data-pipeline")]
SERVICE_WEIGHTS = [14, 11, 9, 9, 8, 8, 7, 7, 7, 7, 7, 6]
TEAMS = [("PTEAM1", "Payments team"), ("PTEAM2", "Search team"), ("PTEAM3", "Identity team"),
         ("PTEAM4", "Platform team"), ("PTEAM5", "Fulfilment team"), ("PTEAM6", "Data team")]
SEVERITIES = (("critical", 5), ("high", 15), ("medium", 35), ("low", 45))
REQUIRED = ("critical", "high")
# Finished statuses only: a `pending` or `assembling` row is a lost job to the app, and the
# in-process sweeper re-assembles it at start-up (app/runtime.py `sweep_all`), changing the
# data under the benchmark. A resolved incident without a packet (~8%) stands for those.
PACKET_STATUSES = (("complete", 84), ("partial", 10), ("failed", 6))
PM_STATUS_OLD = (("draft", 5), ("in_review", 7), ("published", 33), ("closed", 55))
PM_STATUS_NEW = (("draft", 50), ("in_review", 30), ("published", 20), ("closed", 0))
CATEGORIES = (("technical", 50), ("process", 35), ("organizational", 15))
LEVELS = ("high", "medium", "low")
DECISIONS = (("ticket", 70), ("knowledge_base", 20), ("rejected", 10))
DURABILITY = (("eliminate", 15), ("guardrail", 20), ("detect", 20), ("mitigate", 20), ("process", 15),
              ("vigilance", 10))
PRIORITIES = (("P1", 20), ("P2", 45), ("P3", 35))
DUE_DAYS = {"P1": (3, 14), "P2": (7, 30), "P3": (14, 60)}
ITEM_STATUS = {  # by age of the item at END
    "young": (("open", 45), ("in_progress", 25), ("blocked", 5), ("completed", 22), ("wont_do", 3)),
    "middle": (("open", 15), ("in_progress", 10), ("blocked", 5), ("completed", 62), ("wont_do", 8)),
    "old": (("open", 5), ("in_progress", 3), ("blocked", 2), ("completed", 80), ("wont_do", 10)),
}
TAGS = ["configuration", "deployment", "capacity", "monitoring", "alerting", "dependency", "database",
        "network", "dns", "certificates", "rate-limiting", "retries", "timeouts", "cache", "feature-flag",
        "rollback", "runbook", "on-call", "communication", "testing", "migration", "queue", "storage",
        "memory", "cpu", "third-party", "security", "permissions", "data-quality", "cron"]
TAG_WEIGHTS = [30 - i for i in range(len(TAGS))]
PEOPLE = [f"{first}.{last}" for first in ("dana", "sam", "alex", "kim", "lee", "noa", "ravi", "mia", "jo", "eli")
          for last in ("whitfield", "ng", "okafor", "silva", "berg", "tanaka", "haddad", "novak", "kaur", "moreau")]

TABLES = ("incidents", "incident_teams", "event_packets", "postmortems", "postmortem_incidents", "findings",
          "finding_tags", "action_items", "audit_entries")


@dataclass
class Rows:
    """Column names and row tuples per table, with Python values (UUID, aware datetime, date, bool, JSON text)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def table(self, name: str, *columns: str) -> list[tuple[Any, ...]]:
        self.columns[name] = columns
        self.rows[name] = []
        return self.rows[name]

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}


def counts_for(scale: float) -> dict[str, int]:
    return {"incidents": max(10, round(100_000 * scale)), "postmortems": max(2, round(20_000 * scale)),
            "findings": max(4, round(100_000 * scale)), "action_items": max(8, round(300_000 * scale))}


def generate(scale: float = 1.0, seed: int = 12, end: dt.datetime = END) -> Rows:
    """The whole history, deterministic in (scale, seed, end)."""
    rng = random.Random(seed)
    target = counts_for(scale)
    out = Rows()

    def pick(choices: tuple[tuple[str, int], ...]) -> str:
        return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def lognormal(median_seconds: float, sigma: float) -> dt.timedelta:
        return dt.timedelta(seconds=median_seconds * math.exp(rng.gauss(0.0, sigma)))

    # --- incidents ---------------------------------------------------------------------------
    incidents = out.table("incidents", "id", "source", "external_id", "number", "title", "service_id",
                          "service_name", "teams", "assignees", "urgency", "priority", "severity", "status",
                          "triggered_at", "acknowledged_at", "resolved_at", "reopened_count", "fingerprint",
                          "repeat_of_id", "reported_by", "last_event_at", "created_at")
    incident_teams = out.table("incident_teams", "incident_id", "team_id", "team_name")
    n = target["incidents"]
    start = end - dt.timedelta(days=SPAN_DAYS)
    span = (end - DAY - start).total_seconds()
    moments = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(n))
    pool = max(2, round(40 * scale))  # recurring fingerprints per service
    last_of: dict[str, tuple[dt.datetime, uuid.UUID]] = {}
    # (id, service index, severity, triggered, resolved) for what points at incidents
    inc: list[tuple[uuid.UUID, int, str, dt.datetime, dt.datetime | None]] = []
    priority_of = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}
    for i, triggered in enumerate(moments):
        s = rng.choices(range(len(SERVICES)), SERVICE_WEIGHTS)[0]
        service_id, service_name = SERVICES[s]
        team = TEAMS[s % len(TEAMS)]
        teams = [team] + ([TEAMS[(s + 1 + rng.randrange(len(TEAMS) - 1)) % len(TEAMS)]] if rng.random() < 0.08 else [])
        if rng.random() < 0.22:
            fingerprint = f"{service_id}:recurring alert #{rng.randrange(pool)}"
        else:
            fingerprint = f"{service_id}:alert #{i}"
        incident_id = new_id()
        earlier = last_of.get(fingerprint)
        repeat_of = earlier[1] if earlier and triggered - earlier[0] <= LOOKBACK else None
        last_of[fingerprint] = (triggered, incident_id)
        severity = pick(SEVERITIES)
        recent = end - triggered < dt.timedelta(days=14)
        unresolved = rng.random() < (0.25 if recent else 0.003)
        ack = triggered + lognormal(240, 1.0) if rng.random() < 0.93 or (unresolved and rng.random() < 0.5) else None
        resolved = None if unresolved else (ack or triggered) + lognormal(5400, 1.2)
        if resolved is not None and resolved >= end:
            resolved = None
        status = "resolved" if resolved else ("acknowledged" if ack else "triggered")
        human = rng.random() < 0.12
        incidents.append((incident_id, "pagerduty", f"Q{i + 1:07d}", i + 1, f"{service_name}: {fingerprint}",
                          service_id, service_name, json.dumps([{"id": t, "summary": name} for t, name in teams]),
                          "[]", "high" if severity in REQUIRED else "low", priority_of[severity], severity, status,
                          triggered, ack, resolved, 0, fingerprint, repeat_of, "human" if human else "automation",
                          resolved or ack or triggered, triggered))
        incident_teams.extend((incident_id, t, name) for t, name in teams)
        inc.append((incident_id, s, severity, triggered, resolved))

    # --- event packets -------------------------------------------------------------------------
    packets = out.table("event_packets", "id", "incident_id", "version", "status", "reason", "requested_at",
                        "assembled_at", "sla_due_at", "sha256", "attempts", "last_error")
    for incident_id, _, _, _, resolved in inc:
        if resolved is None or rng.random() < 0.08:
            continue
        status = pick(PACKET_STATUSES)
        assembled = None
        if status in ("complete", "partial"):
            late = rng.random() < 0.05
            assembled = resolved + (dt.timedelta(hours=24 + rng.uniform(1, 72)) if late else lognormal(150, 1.0))
        due = None if rng.random() < 0.03 else resolved + dt.timedelta(hours=24)
        packets.append((new_id(), incident_id, 1, status, "resolved", resolved, assembled, due,
                        f"{rng.getrandbits(256):064x}" if assembled else None, 5 if status == "failed" else 1,
                        "PagerDuty unavailable after 5 attempts" if status == "failed" else None))
        if rng.random() < 0.10:
            at = (assembled or resolved) + lognormal(2 * 86400, 0.8)
            packets.append((new_id(), incident_id, 2, "complete", "statement", at - dt.timedelta(seconds=90), at,
                            at - dt.timedelta(seconds=90) + dt.timedelta(hours=24), f"{rng.getrandbits(256):064x}",
                            1, None))

    # --- postmortems ---------------------------------------------------------------------------
    postmortems = out.table("postmortems", "id", "title", "framework", "status", "facilitator", "participants",
                            "summary", "similar_incidents_reviewed", "created_at", "updated_at", "published_at",
                            "closed_at")
    covers = out.table("postmortem_incidents", "postmortem_id", "incident_id", "position")
    audit = out.table("audit_entries", "id", "at", "actor", "action", "entity", "entity_id", "diff")
    resolved_idx = [k for k, row in enumerate(inc) if row[4] is not None]
    required = [k for k in resolved_idx if inc[k][2] in REQUIRED]
    others = [k for k in resolved_idx if inc[k][2] not in REQUIRED]
    rng.shuffle(required)
    rng.shuffle(others)
    by_service: dict[int, list[int]] = {}
    for k in resolved_idx:
        by_service.setdefault(inc[k][1], []).append(k)
    position_in_service = {k: p for ks in by_service.values() for p, k in enumerate(ks)}
    used: set[int] = set()
    pm_rows: list[tuple[uuid.UUID, str, dt.datetime, dt.datetime | None]] = []  # id, status, created, published
    for _ in range(target["postmortems"]):
        source = required if (rng.random() < 0.8 and required) or not others else others
        while source and source[-1] in used:
            source.pop()
        if not source:
            break
        primary = source.pop()
        chosen = [primary]
        used.add(primary)
        extra = rng.choices((0, 1, 2), (70, 22, 8))[0]
        siblings = by_service[inc[primary][1]]
        p = position_in_service[primary] + 1
        while extra and p < len(siblings) and inc[siblings[p]][3] - inc[primary][3] < dt.timedelta(days=7):
            if siblings[p] not in used:
                chosen.append(siblings[p])
                used.add(siblings[p])
                extra -= 1
            p += 1
        latest = max(inc[k][4] for k in chosen)  # type: ignore[type-var]
        created = min(latest + lognormal(86400, 0.8), end - dt.timedelta(minutes=1))
        status = pick(PM_STATUS_NEW if end - created < dt.timedelta(days=7) else PM_STATUS_OLD)
        published = closed = None
        if status in ("published", "closed"):
            published = created + lognormal(4 * 86400, 0.7)
            if published >= end:
                status, published = "in_review", None
        if status == "closed":
            closed = published + lognormal(10 * 86400, 0.8)  # type: ignore[operator]
            if closed >= end:
                status, closed = "published", None
        pm_id = new_id()
        facilitator = rng.choice(PEOPLE)
        postmortems.append((pm_id, f"Postmortem: {inc[primary][0]}", rng.choice(
            ("five_whys", "contribution_map", "barrier_analysis")), status, facilitator,
            json.dumps(rng.sample(PEOPLE, 3)), "What happened, in a paragraph.", rng.random() < 0.6, created,
            closed or published or created, published, closed))
        covers.extend((pm_id, inc[k][0], position) for position, k in enumerate(chosen))
        if closed is not None:
            audit.append((new_id(), closed, facilitator, "postmortem.transitioned", "postmortem", str(pm_id),
                          json.dumps({"from": "published", "to": "closed", "gate_warnings": []})))
        pm_rows.append((pm_id, status, created, published))

    # --- findings and tags -----------------------------------------------------------------------
    findings = out.table("findings", "id", "postmortem_id", "statement", "category", "impact", "effort",
                         "decision", "owner", "systemic", "proposal", "created_at")
    tags = out.table("finding_tags", "finding_id", "tag")
    per_pm = [1] * len(pm_rows)
    for _ in range(max(0, target["findings"] - len(pm_rows))):
        per_pm[rng.randrange(len(pm_rows))] += 1
    finding_rows: list[tuple[uuid.UUID, dt.datetime]] = []
    for (pm_id, _, created, _), count in zip(pm_rows, per_pm, strict=True):
        for _ in range(count):
            finding_id = new_id()
            at = min(created + dt.timedelta(seconds=rng.uniform(0, 2 * 86400)), end - dt.timedelta(seconds=30))
            systemic = rng.random() < 0.15
            findings.append((finding_id, pm_id, "A condition that contributed.", pick(CATEGORIES),
                             rng.choice(LEVELS), rng.choice(LEVELS), pick(DECISIONS), rng.choice(PEOPLE), systemic,
                             "Fund a platform fix." if systemic else None, at))
            tags.extend((finding_id, tag) for tag in
                        sorted(set(rng.choices(TAGS, TAG_WEIGHTS, k=rng.choices((0, 1, 2, 3), (20, 40, 30, 10))[0]))))
            finding_rows.append((finding_id, at))

    # --- action items ----------------------------------------------------------------------------
    items = out.table("action_items", "id", "finding_id", "title", "owner", "priority", "due_date", "durability",
                      "status", "escalation_level", "created_at", "updated_at", "completed_at", "closed_at")
    per_finding = [0] * len(finding_rows)
    for _ in range(target["action_items"]):
        per_finding[rng.randrange(len(finding_rows))] += 1
    number = 0
    for (finding_id, found_at), count in zip(finding_rows, per_finding, strict=True):
        for _ in range(count):
            number += 1
            created = min(found_at + dt.timedelta(seconds=rng.uniform(0, 3 * 86400)), end - dt.timedelta(seconds=10))
            priority = pick(PRIORITIES)
            due = (created + dt.timedelta(days=rng.randint(*DUE_DAYS[priority]))).date()
            age = end - created
            status = pick(ITEM_STATUS["young" if age < dt.timedelta(days=30)
                                      else "middle" if age < dt.timedelta(days=180) else "old"])
            completed = closed = None
            if status == "completed":
                completed = created + lognormal(12 * 86400, 0.9)
                if completed >= end:
                    status, completed = "in_progress", None
                closed = completed
            elif status == "wont_do":
                closed = created + lognormal(20 * 86400, 0.8)
                if closed >= end:
                    status, closed = "open", None
            overdue = status in ("open", "in_progress", "blocked") and due < end.date()
            items.append((new_id(), finding_id, f"Action item {number}", rng.choice(PEOPLE), priority, due,
                          pick(DURABILITY), status, 1 if overdue else 0, created, closed or created, completed,
                          closed))
    return out


# --------------------------------------------------------------------------- loading


def _pg_dsn(url: str) -> str:
    return "postgresql://" + url.removeprefix("postgresql+asyncpg://")


async def _load_postgres(url: str, rows: Rows) -> None:
    import asyncpg

    connection = await asyncpg.connect(_pg_dsn(url))
    try:
        async with connection.transaction():
            for table in TABLES:
                await connection.copy_records_to_table(table, records=rows.rows[table], columns=list(rows.columns[table]))
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: UUID as 32 hex digits, naive UTC text with microseconds, 0/1."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _load_sqlite(url: str, rows: Rows) -> None:
    path = url.split(":///", 1)[1]
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        with connection:
            for table in TABLES:
                columns = rows.columns[table]
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                connection.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows.rows[table]))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def _pg_admin(url: str, sql: str) -> Any:
    import asyncpg

    base, name = _pg_dsn(url).rsplit("/", 1)
    connection = await asyncpg.connect(f"{base}/postgres")
    try:
        return await connection.fetchval(sql, name) if "$1" in sql else await connection.execute(sql)
    finally:
        await connection.close()


def prepare(url: str, *, recreate: bool) -> None:
    """Make `url` an empty, migrated database (creating a PostgreSQL database that does not exist)."""
    from app.core.migrations import upgrade

    if url.startswith("postgresql+asyncpg://"):
        name = url.rsplit("/", 1)[1]
        exists = asyncio.run(_pg_admin(url, "SELECT 1 FROM pg_database WHERE datname = $1"))
        if exists and recreate:
            asyncio.run(_pg_admin(url, f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            asyncio.run(_pg_admin(url, f'CREATE DATABASE "{name}"'))
    elif url.startswith("sqlite+aiosqlite:///"):
        path = Path(url.split(":///", 1)[1])
        if recreate:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        raise SystemExit(f"unsupported URL {url!r}")
    upgrade(url)


async def incident_count(url: str) -> int:
    if url.startswith("postgresql+asyncpg://"):
        import asyncpg

        connection = await asyncpg.connect(_pg_dsn(url))
        try:
            return await connection.fetchval("SELECT count(*) FROM incidents")
        finally:
            await connection.close()
    connection = sqlite3.connect(url.split(":///", 1)[1])
    try:
        return connection.execute("SELECT count(*) FROM incidents").fetchone()[0]
    finally:
        connection.close()


def seed(url: str, *, scale: float = 1.0, seed_value: int = 12, end: dt.datetime = END,
         recreate: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Migrate, generate, load; the row counts and how long each step took."""
    t0 = time.perf_counter()
    prepare(url, recreate=recreate)
    if asyncio.run(incident_count(url)):
        raise SystemExit(f"{url} already holds incidents: pass --recreate (or reuse it)")
    t1 = time.perf_counter()
    rows = generate(scale, seed_value, end)
    t2 = time.perf_counter()
    if url.startswith("postgresql"):
        asyncio.run(_load_postgres(url, rows))
    else:
        _load_sqlite(url, rows)
    t3 = time.perf_counter()
    result = {"url": url, "scale": scale, "seed": seed_value, "end": end.isoformat(), "counts": rows.counts(),
              "migrate_s": round(t1 - t0, 2), "generate_s": round(t2 - t1, 2), "load_s": round(t3 - t2, 2),
              "total_s": round(t3 - t0, 2)}
    if not quiet:
        counts = ", ".join(f"{k} {v:,}" for k, v in result["counts"].items())
        repeats = sum(1 for row in rows.rows["incidents"] if row[18] is not None)
        print(f"seeded {url} (scale {scale}, seed {seed_value}): {counts}; repeats "
              f"{repeats / max(1, len(rows.rows['incidents'])):.1%}", flush=True)
        print(f"seeding took {result['total_s']:.1f} s (migrate {result['migrate_s']:.1f} s, generate "
              f"{result['generate_s']:.1f} s, load{' + ANALYZE' if url.startswith('postgresql') else ''} "
              f"{result['load_s']:.1f} s)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="sqlite+aiosqlite:///PATH or postgresql+asyncpg://.../DBNAME")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 incidents (default)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--end", default=END.isoformat(), help=f"when the history ends (default {END.isoformat()})")
    parser.add_argument("--recreate", action="store_true", help="drop the database / remove the file first")
    args = parser.parse_args(argv)
    end = dt.datetime.fromisoformat(args.end)
    seed(args.url, scale=args.scale, seed_value=args.seed, end=end if end.tzinfo else end.replace(tzinfo=UTC),
         recreate=args.recreate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
