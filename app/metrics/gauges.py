"""The loop's measures as Prometheus gauges, recomputed on a schedule (never per scrape).

A scrape reads what the last refresh set: the aggregates run every
`LOOPGATE_METRICS_REFRESH_SECONDS` in the API process, so a Prometheus that scrapes every
15 s costs the database nothing more. A measure with nothing to count is NaN, as the JSON
API's null. `loopgate_metrics_refreshed_timestamp_seconds` tells how fresh the numbers are.
"""

import asyncio
import itertools
import math
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlmodel import col

from app.core import clock
from app.core.runtime import Runtime
from app.core.schedule import repeat
from app.metrics import service
from app.metrics.maturity import maturity
from app.metrics.measures import MEASURES, Kind
from app.metrics.patterns import patterns
from app.models.inbound import InboundEvent
from app.models.packets import EventPacket, PacketStatus
from app.models.tickets import IN_FLIGHT, Ticket

# Each measure over all time, and over the last 30 days of its anchor.
WINDOWS = {"all": None, "30d": timedelta(days=30)}
STATS = ("mean", "median", "p90")


def _name(measure: str, kind: Kind) -> str:
    if kind is Kind.rate:
        return f"loopgate_{measure}"
    return f"loopgate_{measure}" if measure.endswith("_days") else f"loopgate_{measure}_seconds"


MEASURE_GAUGES = {
    m.name: Gauge(_name(m.name, m.kind), f"{m.name} (DESIGN §5); NaN when nothing was counted",
                  ["window", "stat"] if m.kind is Kind.duration else ["window"])
    for m in MEASURES
}
BY_PRIORITY = Gauge("loopgate_action_item_completion_rate_by_priority",
                    "action_item_completion_rate per priority; NaN when nothing was counted", ["window", "priority"])
SAMPLES = Gauge("loopgate_measure_samples",
                "What a measure was computed over: a duration's count, a rate's denominator", ["measure", "window"])
OVERDUE = Gauge("loopgate_action_items_overdue", "Open action items past their due date")
MATURITY = Gauge("loopgate_maturity_level", "The organisation's maturity level (1-5, DESIGN §5)")
PATTERNS = Gauge("loopgate_recurring_patterns", "Tags and categories recurring across postmortems")
BACKLOG = Gauge("loopgate_backlog", "Durable work not done yet: inbox rows unapplied, packets unassembled, "
                "Jira issues not yet created", ["kind"])
QUEUE_DEPTH = Gauge("loopgate_job_queue_depth", "Jobs waiting or running in the job queue")
REFRESHED = Gauge("loopgate_metrics_refreshed_timestamp_seconds", "When the gauges were last recomputed")
REFRESH_DURATION = Gauge("loopgate_metrics_refresh_duration_seconds", "How long the last recompute took")
REFRESH_FAILURES = Counter("loopgate_metrics_refresh_failures", "Recomputes of the gauges that failed")


# A refresh that started earlier never overwrites one that started later (it read older rows).
_sequence = itertools.count()
_applied = -1

Reading = list[tuple[Any, float]]  # (a gauge or one of its label children, its new value)


def _value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _measures(window: str, measures: dict[str, Any]) -> Reading:
    reading: Reading = []
    for m in MEASURES:
        value = measures[m.name]
        gauge = MEASURE_GAUGES[m.name]
        if m.kind is Kind.duration:
            reading += [(gauge.labels(window, stat), _value(value[stat])) for stat in STATS]
            reading.append((SAMPLES.labels(m.name, window), value["count"]))
        else:
            reading.append((gauge.labels(window), _value(value["value"])))
            reading.append((SAMPLES.labels(m.name, window), value["denominator"]))
        reading += [(BY_PRIORITY.labels(window, priority), _value(rate["value"]))
                    for priority, rate in value.get("by_priority", {}).items()]
    return reading


BACKLOG_QUERIES = {
    "inbox": sa.select(sa.func.count()).where(col(InboundEvent.handled_at).is_(None)),
    "packets": sa.select(sa.func.count()).where(
        col(EventPacket.status).in_([PacketStatus.pending, PacketStatus.assembling])),
    "tickets": sa.select(sa.func.count()).where(col(Ticket.state).in_(IN_FLIGHT)),
}


async def refresh(runtime: Runtime, *, now: datetime | None = None) -> None:
    """Recompute every gauge from the database (one read-only session), then set them all at once."""
    global _applied
    sequence = next(_sequence)
    started = time.perf_counter()
    now = now or clock.now()
    settings = runtime.settings
    reading: Reading = []
    async with runtime.sessionmaker() as session:
        for window, length in WINDOWS.items():
            scope = service.scope_for(settings, now=now, since=now - length if length else None)
            measures = await service.summary(session, scope=scope)
            reading += _measures(window, measures)
            if length is None:
                reading.append((OVERDUE, measures["overdue"]["count"]))
        scope = service.scope_for(settings, now=now)
        level = await maturity(session, scope=scope, min_occurrences=settings.pattern_min_occurrences,
                               thresholds=settings.maturity_thresholds,
                               recommendations=settings.pattern_recommendations)
        found = await patterns(session, scope=scope, min_occurrences=settings.pattern_min_occurrences,
                               recommendations=settings.pattern_recommendations)
        reading += [(MATURITY, level["level"]), (PATTERNS, len(found))]
        reading += [(BACKLOG.labels(kind), (await session.execute(query)).scalar_one())
                    for kind, query in BACKLOG_QUERIES.items()]
    reading.append((QUEUE_DEPTH, await runtime.queue.depth()))
    if sequence < _applied:
        return
    _applied = sequence
    for gauge, value in reading:
        gauge.set(value)
    REFRESHED.set(now.timestamp())
    REFRESH_DURATION.set(time.perf_counter() - started)


def start_refresh(runtime: Runtime) -> None:
    """Recompute the gauges now (in the background: start-up does not wait) and on every interval;
    an interval of 0 leaves this process's gauges unset (another replica refreshes its own)."""
    if not runtime.settings.metrics_refresh_seconds:
        return

    async def refresh_now(_first: bool) -> None:
        await refresh(runtime)

    runtime.background.append(asyncio.get_running_loop().create_task(repeat(
        refresh_now, interval=runtime.settings.metrics_refresh_seconds, what="metrics refresh",
        on_failure=REFRESH_FAILURES.inc)))

