#!/usr/bin/env python3
"""Inbox writer benchmark: one batch of deliveries into `inbound_events`, two ways, in one process.

Not a test. Per backend, on a fresh migrated database, the same batches of --batch
rows (~3 KB payloads, distinct ids) are written:

    orm     the previous design, kept here as the baseline: an ORM `insert().on_conflict_do_nothing()`
            executed with the parameter list, a SELECT to find which rows were new, commit
    driver  what the inbox does now (app/inbound/batch.py): one driver-level statement per batch
            with ON CONFLICT DO NOTHING RETURNING

and then the whole `InboxWriter` with --batch concurrent callers (what a burst of webhooks sees).
CPU is process time (the aiosqlite thread included); PostgreSQL's own CPU is not counted.

Usage (from the repository root):
    .venv/bin/python bench/inbox_writer.py                       # SQLite
    .venv/bin/python scripts/testenv.py -- .venv/bin/python bench/inbox_writer.py   # and PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app.core import clock, migrations  # noqa: E402
from app.core.db import EncodedJSON, create_engine, create_sessionmaker, insert_for  # noqa: E402
from app.inbound.batch import batch_insert_for  # noqa: E402
from app.models.inbound import InboundEvent  # noqa: E402
from app.inbound.writer import Delivery, InboxWriter  # noqa: E402

PAYLOAD = EncodedJSON('{"event": {"id": "x", "event_type": "incident.triggered", "data": {"description": "'
                      + "x" * 2900 + '"}}}')


def rows_for(prefix: str, count: int) -> list[tuple]:
    now = clock.now()
    return [(uuid.uuid4(), "pagerduty", f"{prefix}{n:08d}", "incident.triggered", now, now, None, PAYLOAD)
            for n in range(count)]


async def orm_batch(sessionmaker, rows: list[tuple]) -> int:
    """The previous InboxWriter._write: ORM insert with a parameter list, then SELECT the new ones."""
    values = [{"id": r[0], "source": r[1], "external_id": r[2], "event_type": r[3], "occurred_at": r[4],
               "received_at": r[5], "delivery_id": r[6], "payload": r[7], "attempts": 0} for r in rows]
    async with sessionmaker() as session:
        await session.execute(insert_for(session, InboundEvent).on_conflict_do_nothing(
            index_elements=["source", "external_id"]), values)
        stored = await session.execute(
            sa.select(InboundEvent.id).where(InboundEvent.external_id.in_([r[2] for r in rows])))
        ours = {r[0] for r in rows}
        new = sum(1 for (inbound_id,) in stored if inbound_id in ours)
        await session.commit()
    return new


async def driver_batch(engine, insert, rows: list[tuple]) -> int:
    async with engine.connect() as connection:
        return len(await insert.run(connection, rows))


class _NoJobs:
    def submit(self, job) -> None:  # only the write is measured
        pass


async def measure(label: str, total: int, batch: int, write) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, total, batch):
        assert await write(label, start, min(batch, total - start)) == min(batch, total - start)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / total * 1e6, total / wall


async def run_backend(name: str, url: str, total: int, batch: int) -> list[tuple]:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    insert = batch_insert_for(engine.dialect)
    results = []

    async def orm(label, start, count):
        return await orm_batch(sessionmaker, rows_for(f"{label}-{start}-", count))

    async def driver(label, start, count):
        return await driver_batch(engine, insert, rows_for(f"{label}-{start}-", count))

    await orm("warm-orm", 0, batch)
    await driver("warm-driver", 0, batch)
    for label, write in (("orm", orm), ("driver", driver)):
        cpu_per_row, rows_per_s = await measure(label, total, batch, write)
        results.append((name, f"{label} (batches of {batch})", cpu_per_row, rows_per_s))

    writer = InboxWriter(engine, _NoJobs())
    counter = iter(range(total))

    async def caller() -> None:
        for n in counter:
            await writer.record(Delivery("pagerduty", f"writer-{n:08d}", "incident.triggered", clock.now(), None,
                                         PAYLOAD))

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(batch)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    results.append((name, f"InboxWriter, {batch} concurrent callers", cpu / total * 1e6, total / wall))
    await writer.close()
    async with engine.connect() as connection:
        stored = (await connection.execute(sa.text("SELECT count(*) FROM inbound_events"))).scalar_one()
    assert stored == 3 * total + 2 * batch, stored
    await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64)
    options = parser.parse_args()

    targets = [("sqlite", f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='loopgate-writer-')}/bench.db")]
    if os.environ.get("LOOPGATE_TEST_POSTGRES_URL"):
        targets.append(("postgres", os.environ["LOOPGATE_TEST_POSTGRES_URL"]))
    results = []
    for name, url in targets:
        migrations.upgrade(url)
        if name == "postgres":  # a reused test database: start from an empty inbox
            async def empty() -> None:
                engine = create_engine(url)
                async with engine.begin() as connection:
                    await connection.execute(sa.text("DELETE FROM inbound_events"))
                await engine.dispose()
            asyncio.run(empty())
        results += asyncio.run(run_backend(name, url, options.rows, options.batch))

    print(f"{options.rows:,} rows of ~3 KB per measurement\n")
    print("| backend  | path                               | CPU µs/row | rows/s  | CPU ratio to orm |")
    print("|----------|------------------------------------|------------|---------|------------------|")
    baseline = {name: cpu for name, label, cpu, _ in results if label.startswith("orm")}
    for name, label, cpu, rate in results:
        print(f"| {name:<8} | {label:<34} | {cpu:>10.1f} | {rate:>7,.0f} | {cpu / baseline[name]:>16.2f} |")


if __name__ == "__main__":
    main()
