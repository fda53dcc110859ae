"""Digests and patterns, checked daily: `digest.weekly` for the last full ISO week and `digest.monthly`
for the last full month, each once per period; `pattern.detected` once per pattern, when it first
reaches LOOPGATE_PATTERN_MIN_OCCURRENCES distinct postmortems.

Checking daily rather than firing once a week means a missed run (a restart, a worker down on
Monday) is made up the next day, and a second run finds the period already announced.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.settings import Settings
from app.metrics import service as metrics
from app.metrics.maturity import maturity
from app.metrics.patterns import as_item, patterns
from app.models.notifications import EventType
from app.models.postmortems import ActionItem, ActionItemStatus, Finding, Postmortem, overdue_condition
from app.notifications import outbox
from app.notifications.outbox import Facets

LISTED = 50  # items listed per section; the counts are complete
TREND_MONTHS = 6
TREND_MEASURES = ("mttr", "postmortem_completion_rate", "action_item_completion_rate", "on_time_rate",
                  "repeat_incident_rate", "time_to_insight")


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def last_week(today: date) -> tuple[date, date, str]:
    """The last full ISO week before `today`: (Monday, the next Monday, "2026-W48")."""
    start = today - timedelta(days=today.weekday() + 7)
    year, week, _ = start.isocalendar()
    return start, start + timedelta(days=7), f"{year}-W{week:02d}"


def last_month(today: date) -> tuple[date, date, str]:
    """The last full month before `today`: (its first day, the first of this month, "2026-11")."""
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end, f"{start.year}-{start.month:02d}"


async def weekly_content(session: AsyncSession, *, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """New findings and learnings, completed fixes, and what is overdue now."""
    findings = (await session.execute(
        sa.select(Finding, col(Postmortem.title)).join(Postmortem, col(Postmortem.id) == col(Finding.postmortem_id))
        .where(col(Finding.created_at) >= start, col(Finding.created_at) < end)
        .order_by(col(Finding.created_at), col(Finding.id)))).all()
    learnings = list(await session.scalars(
        sa.select(Postmortem).where(col(Postmortem.published_at) >= start, col(Postmortem.published_at) < end)
        .order_by(col(Postmortem.published_at))))
    completed = list(await session.scalars(
        sa.select(ActionItem).where(col(ActionItem.status) == ActionItemStatus.completed,
                                    col(ActionItem.completed_at) >= start, col(ActionItem.completed_at) < end)
        .order_by(col(ActionItem.completed_at))))
    overdue = list(await session.scalars(
        sa.select(ActionItem).where(overdue_condition(now.date())).order_by(col(ActionItem.due_date))))
    return {
        "findings": [{"id": f.id, "statement": f.statement, "category": f.category, "decision": f.decision,
                      "postmortem_id": f.postmortem_id, "postmortem_title": title} for f, title in findings[:LISTED]],
        "findings_count": len(findings),
        "learnings": [{"postmortem_id": p.id, "title": p.title, "lessons": p.lessons, "published_at": p.published_at}
                      for p in learnings[:LISTED]],
        "learnings_count": len(learnings),
        "completed_action_items": [{"id": i.id, "title": i.title, "owner": i.owner, "priority": i.priority,
                                    "durability": i.durability, "completed_at": i.completed_at}
                                   for i in completed[:LISTED]],
        "completed_count": len(completed),
        "overdue_action_items": [{"id": i.id, "title": i.title, "owner": i.owner, "priority": i.priority,
                                  "due_date": i.due_date} for i in overdue[:LISTED]],
        "overdue_count": len(overdue),
        "categories": sorted({f.category for f, _ in findings}),
    }


async def announce_weekly(session: AsyncSession, *, now: datetime) -> bool:
    """digest.weekly for the last full week, unless it was announced."""
    start, end, label = last_week(now.date())
    if not await outbox.first_time(session, kind=EventType.digest_weekly, subject=label):
        return False
    content = await weekly_content(session, start=midnight(start), end=midnight(end), now=now)
    summary = (f"Week {label}: {content['findings_count']} new finding(s), {content['learnings_count']} "
               f"postmortem(s) published, {content['completed_count']} fix(es) completed, "
               f"{content['overdue_count']} action item(s) overdue")
    lines = [f"{f['category']}: {f['statement']}" for f in content["findings"][:5]]
    lines += [f"done: {i['title']} ({i['owner']})" for i in content["completed_action_items"][:5]]
    lines += [f"overdue: {i['title']} ({i['owner']}, due {i['due_date'].isoformat()})"
              for i in content["overdue_action_items"][:5]]
    await outbox.record(session, event_type=EventType.digest_weekly,
                        facets=Facets.of(categories=content.pop("categories")),
                        data={"summary": summary, "lines": lines,
                              "period": {"label": label, "start": start, "end": end}, **content})
    return True


async def announce_monthly(session: AsyncSession, *, now: datetime, settings: Settings) -> bool:
    """digest.monthly for the last full month — patterns, trends and maturity from app.metrics — once."""
    start, end, label = last_month(now.date())
    if not await outbox.first_time(session, kind=EventType.digest_monthly, subject=label):
        return False
    scope = metrics.scope_for(settings, now=midnight(end))
    found = await patterns(session, scope=scope, min_occurrences=settings.pattern_min_occurrences,
                           recommendations=settings.pattern_recommendations)
    trend_start = start
    for _ in range(TREND_MONTHS - 1):
        trend_start = (trend_start - timedelta(days=1)).replace(day=1)
    series = await metrics.trends(session, scope=metrics.scope_for(
        settings, now=midnight(end), since=midnight(trend_start), until=midnight(end), bucket="month"), bucket="month")
    trends = [{"start": b["start"], **{m: b[m] for m in TREND_MEASURES if m in b}} for b in series]
    level = await maturity(session, scope=scope, min_occurrences=settings.pattern_min_occurrences,
                           thresholds=settings.maturity_thresholds, recommendations=settings.pattern_recommendations)
    unmet = next((lv for lv in level["levels"] if not lv["met"]), None)
    summary = f"{label}: maturity level {level['level']}, {len(found)} recurring pattern(s)"
    lines = [f"pattern {p.kind} '{p.key}' in {p.occurrences} postmortems: {p.recommendation}" for p in found[:5]]
    if unmet is not None:
        lines.append(f"to reach level {unmet['level']} ({unmet['name']}): "
                     + ", ".join(c["name"] for c in unmet["criteria"] if not c["met"]))
    await outbox.record(session, event_type=EventType.digest_monthly,
                        facets=Facets.of(categories=[p.key for p in found if p.kind == "category"]),
                        data={"summary": summary, "lines": lines,
                              "period": {"label": label, "start": start, "end": end},
                              "patterns": [as_item(p) for p in found], "trends": trends, "maturity": level})
    return True


async def announce_patterns(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """pattern.detected for each pattern (all time) not announced before; the number announced."""
    found = await patterns(session, scope=metrics.scope_for(settings, now=now),
                           min_occurrences=settings.pattern_min_occurrences,
                           recommendations=settings.pattern_recommendations)
    announced = 0
    for pattern in found:
        item = as_item(pattern)
        summary = (f"'{pattern.key}' ({pattern.kind}) now contributes to {pattern.occurrences} postmortems: "
                   f"{pattern.recommendation}")
        facets = Facets.of(categories=[pattern.key] if pattern.kind == "category" else [])
        announced += await outbox.announce_once(session, event_type=EventType.pattern_detected,
                                                subject=f"{pattern.kind}:{pattern.key}",
                                                data={"summary": summary, "pattern": item}, facets=facets)
    return announced
