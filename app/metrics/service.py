"""The loop's measures (DESIGN §5): a summary over a window, and the same measures per week or month."""

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import dialect_of
from app.core.settings import Settings
from app.metrics.measures import FAMILIES, MEASURES, Family, Kind, Measure, Scope, overdue
from app.metrics.sql import month_start, stats, week_start
from app.models.postmortems import Priority

Bucket = Literal["week", "month"]
BUCKETS = {"week": week_start, "month": month_start}
MEASURE = {m.name: m for m in MEASURES}
# Connections one summary uses at once (the API's pool holds 10 + 10 on PostgreSQL).
QUERY_CONCURRENCY = 4
# PostgreSQL's work_mem in a metrics query's own transaction. At the default 4MB, sorting the 226,000
# completion_days of 300,000 action items for percentile_disc spills to disk; 8MB holds them, 32MB
# about four times as many (docs/metrics.md).
WORK_MEM = "32MB"
# Trends fill the buckets between the first and the last that hold data; this caps a response.
MAX_BUCKETS = 1200


def scope_for(settings: Settings, *, now: datetime, since: datetime | None = None, until: datetime | None = None,
              service: str | None = None, team: str | None = None, bucket: Bucket | None = None) -> Scope:
    """The scope of a request, with the policy the measures depend on."""
    return Scope(now=now, since=since, until=until, service=service, team=team,
                 required_severities=tuple(settings.postmortem_required_severities),
                 packet_sla_hours=settings.packet_sla_hours, bucket=BUCKETS[bucket] if bucket else None)


def _number(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value) if isinstance(value, Decimal) else value, digits)


def empty(kind: Kind) -> dict[str, Any]:
    if kind is Kind.duration:
        return {"mean": None, "median": None, "p90": None, "count": 0}
    return rate(0, 0)


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    """A rate with what it is made of; null when nothing was counted."""
    return {"value": numerator / denominator if denominator else None, "numerator": numerator,
            "denominator": denominator}


def _value(measure: Measure, row: Any) -> dict[str, Any]:
    """One measure's answer from its family's row."""
    found = row._mapping
    name = measure.name
    if measure.kind is Kind.duration:
        digits = 6 if name == "completion_days" else 3
        return {"mean": _number(found[f"{name}__mean"], digits), "median": _number(found[f"{name}__median"], digits),
                "p90": _number(found[f"{name}__p90"], digits), "count": found[f"{name}__count"]}
    value = rate(int(found[f"{name}__numerator"]), found[f"{name}__denominator"])
    if measure.by_priority:
        value["by_priority"] = {p.value: rate(int(found[f"{name}__{p.value}__numerator"]),
                                              found[f"{name}__{p.value}__denominator"]) for p in Priority}
    return value


def statement(family: Family, scope: Scope, *, dialect: str) -> Any:
    """The one query that computes a family's measures, per group."""
    return stats(family.sample(scope), grouped=scope.grouped, ordered_sets=dialect == "postgresql",
                 durations=[m.name for m in family.measures if m.kind is Kind.duration],
                 rates=[m.name for m in family.measures if m.kind is Kind.rate],
                 keyed=[m.name for m in family.measures if m.by_priority], keys=[p.value for p in Priority])


async def _family(session: AsyncSession, family: Family, scope: Scope) -> dict[str, dict[str, Any]]:
    """A family's measures, per group."""
    rows = await session.execute(statement(family, scope, dialect=dialect_of(session)))
    return {row.g: {m.name: _value(m, row) for m in family.measures} for row in rows}


def _blank(measure: Measure) -> dict[str, Any]:
    value = empty(measure.kind)
    if measure.by_priority:
        value["by_priority"] = {p.value: rate(0, 0) for p in Priority}
    return value


async def one(session: AsyncSession, name: str, scope: Scope) -> dict[str, Any]:
    """One windowed measure over the scope (ungrouped); its family's other measures come along."""
    family = next(f for f in FAMILIES if any(m.name == name for m in f.measures))
    return (await _family(session, family, scope)).get("all", {}).get(name) or _blank(MEASURE[name])


async def tune(session: AsyncSession) -> None:
    """The settings a metrics query runs with, for the rest of the session's transaction. On
    PostgreSQL: enough `work_mem` that sorting a duration's values (percentile_disc) stays in
    memory, and no parallel workers: a summary already runs its queries side by side on
    QUERY_CONCURRENCY connections, and workers on top of those only compete for the same cores."""
    if dialect_of(session) == "postgresql":
        # set_config(..., true) is SET LOCAL: both in one round trip, undone when the transaction ends.
        await session.execute(text("SELECT set_config('work_mem', :work_mem, true), "
                                   "set_config('max_parallel_workers_per_gather', '0', true)"),
                              {"work_mem": WORK_MEM})


async def _each(session: AsyncSession, scope: Scope) -> list[dict[str, dict[str, Any]]]:
    """Every family's groups. The families are independent read-only aggregates, so on an engine
    they run side by side on up to QUERY_CONCURRENCY connections of their own (the database uses
    every core), each in its own transaction `tune`d for it, and only the answers come back here;
    a session without an engine of its own (bound to a connection, inside a caller's transaction)
    runs them one after another, with the settings it has."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        return [await _family(session, family, scope) for family in FAMILIES]
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def apart(family: Family) -> dict[str, dict[str, Any]]:
        async with gate, AsyncSession(engine) as own:
            await tune(own)
            return await _family(own, family, scope)

    tasks = [asyncio.ensure_future(apart(family)) for family in FAMILIES]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        # One failed (or this was cancelled): the others stop too, and give their connections back.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measures_by_group(session: AsyncSession, scope: Scope) -> dict[str, dict[str, Any]]:
    """Every windowed measure, per group `g` (a bucket's first day, or 'all')."""
    groups: dict[str, dict[str, Any]] = {}
    for found in await _each(session, scope):
        for g, values in found.items():
            groups.setdefault(g, {}).update(values)
    return {g: {m.name: values.get(m.name) or _blank(m) for m in MEASURES} for g, values in groups.items()}


async def summary(session: AsyncSession, *, scope: Scope) -> dict[str, Any]:
    """Every measure of DESIGN §5 over the scope's window, with its count or denominator."""
    measures = (await measures_by_group(session, scope)).get("all") or {m.name: _blank(m) for m in MEASURES}
    overdue_count = (await session.execute(overdue(scope))).scalar_one()
    return {**measures, "overdue": {"count": overdue_count}}


def _buckets(first: date, last: date, bucket: Bucket) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        if bucket == "week":
            day += timedelta(days=7)
        else:
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)


async def trends(session: AsyncSession, *, scope: Scope, bucket: Bucket) -> list[dict[str, Any]]:
    """The windowed measures per bucket, oldest first, from the first bucket with data to the last;
    a bucket without data is there, with empty measures."""
    groups = await measures_by_group(session, scope)
    if not groups:
        return []
    starts = sorted(date.fromisoformat(g) for g in groups)
    blank = {m.name: _blank(m) for m in MEASURES}
    series = []
    for start in _buckets(starts[0], starts[-1], bucket):
        series.append({"bucket": bucket, "start": start.isoformat(), **groups.get(start.isoformat(), blank)})
        if len(series) >= MAX_BUCKETS:
            break
    return series
