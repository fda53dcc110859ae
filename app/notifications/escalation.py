"""The escalation ladder (DESIGN §7), run daily; every rung is announced once per action item.

- overdue (due date before today): `action_item.overdue` to the owner (level 0);
  8–14 days overdue: `action_item.escalated` level 1 (manager); over 14: level 2 (directors);
- an open P1 older than 7 days: escalated to level 1 at least;
- no change for 14 days: `action_item.stale`, once per quiet stretch (a change starts a new one);
- a P3 open for over 90 days: closed as `wont_do` with a note saying why (`action_item.auto_closed`),
  unless Jira owns its status — then it is announced as stale with that reason and left to Jira
  (docs/decisions/0021-escalation-and-jira-owned-items.md).

What was announced lives in `announcements` (kind, subject, level) and commits with the
deliveries, so a second run the same day — or on another worker at once — announces nothing.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.db import lock_for_update
from app.models import audit
from app.models.notifications import EventType
from app.models.postmortems import OPEN_STATUSES, ActionItem, ActionItemStatus, Priority
from app.models.tickets import IN_FLIGHT, JIRA_OWNED, Ticket
from app.notifications import outbox
from app.notifications.subjects import action_item_subject
from app.postmortems.action_items import status_changes

LEVEL_1_AFTER_DAYS = 7  # 8–14 days overdue: the manager
LEVEL_2_AFTER_DAYS = 14  # over 14 days: the directors
P1_ESCALATE_AFTER = timedelta(days=7)
STALE_AFTER = timedelta(days=14)
P3_AUTO_CLOSE_AFTER = timedelta(days=90)
AUDIENCE = {0: "owner", 1: "manager", 2: "directors"}
ACTOR = "loopgate:escalate"


@dataclass
class Report:
    """What one run announced and changed."""

    overdue: int = 0
    escalated: int = 0
    stale: int = 0
    auto_closed: int = 0
    events: list[tuple[str, str, int]] = field(default_factory=list)  # (type, action item id, level)


def overdue_level(due: date, *, today: date) -> int | None:
    """None when not overdue; else 0, 1 or 2 by days overdue."""
    days = (today - due).days
    if days <= 0:
        return None
    return 0 if days <= LEVEL_1_AFTER_DAYS else 1 if days <= LEVEL_2_AFTER_DAYS else 2


def last_change(item: ActionItem, ticket: Ticket | None) -> datetime:
    """The latest moment a person (through the API) or Jira changed the item."""
    moments = [item.created_at, item.updated_at, ticket.jira_updated_at if ticket else None]
    return max(m for m in moments if m is not None)


async def run(session: AsyncSession, *, now: datetime) -> Report:
    """One pass of the ladder over every open action item."""
    report = Report()
    items = list(await session.scalars(lock_for_update(
        session, sa.select(ActionItem).where(col(ActionItem.status).in_(OPEN_STATUSES))
        .order_by(col(ActionItem.created_at), col(ActionItem.id)), skip_locked=True)))
    tickets = {t.action_item_id: t for t in await session.scalars(
        sa.select(Ticket).where(col(Ticket.action_item_id).in_([i.id for i in items])))} if items else {}
    for item in items:
        ticket = tickets.get(item.id)
        jira_owned = ticket is not None and (ticket.state in JIRA_OWNED or ticket.state in IN_FLIGHT)
        if item.priority == Priority.P3 and now - item.created_at > P3_AUTO_CLOSE_AFTER:
            if not jira_owned:
                await _auto_close(session, item=item, now=now, report=report)
                continue
            await _announce(session, report, EventType.action_item_stale, item, subject=f"{item.id}:p3-over-90-days",
                            kind="action_item.stale.p3", reason="p3_open_over_90_days",
                            extra={"jira_key": ticket.jira_key if ticket else None,
                                   "advice": "Jira owns this item's status: close the issue as Won't Do if it no "
                                             "longer matters, or raise its priority."})
        await _ladder(session, item=item, now=now, report=report)
        quiet_since = last_change(item, ticket)
        if now - quiet_since >= STALE_AFTER:
            await _announce(session, report, EventType.action_item_stale, item,
                            subject=f"{item.id}@{quiet_since.isoformat()}", reason="no_change_in_14_days",
                            extra={"unchanged_since": quiet_since})
    return report


async def _ladder(session: AsyncSession, *, item: ActionItem, now: datetime, report: Report) -> None:
    today = now.date()
    level = overdue_level(item.due_date, today=today)
    reasons = []
    if level is not None:
        reasons.append(f"overdue_{(today - item.due_date).days}_days")
        await _announce(session, report, EventType.action_item_overdue, item, subject=str(item.id), level=0,
                        reason=reasons[0], extra={"days_overdue": (today - item.due_date).days})
    target = level or 0
    if item.priority == Priority.P1 and now - item.created_at > P1_ESCALATE_AFTER:
        target = max(target, 1)
        reasons.append("p1_open_over_7_days")
    if target == 0:
        return
    # A rung skipped (history entered late, a P1 jumping to level 1) is passed silently: only the highest
    # new rung is announced, and the lower ones are remembered so they never come later.
    for lower in range(1, target):
        await outbox.first_time(session, kind=EventType.action_item_escalated, subject=str(item.id), level=lower)
    await _announce(session, report, EventType.action_item_escalated, item, subject=str(item.id), level=target,
                    reason=", ".join(reasons),
                    extra={"days_overdue": (today - item.due_date).days if level is not None else 0})
    item.escalation_level = max(item.escalation_level, target)  # not updated_at: no person changed it


async def _auto_close(session: AsyncSession, *, item: ActionItem, now: datetime, report: Report) -> None:
    note = (f"Closed as won't do by Loopgate on {now.date().isoformat()}: a P3 action item open for over "
            f"{P3_AUTO_CLOSE_AFTER.days} days (since {item.created_at.date().isoformat()}). Reopen it if it "
            "still matters.")
    changes = status_changes(item, ActionItemStatus.wont_do)
    for name, value in changes.items():
        setattr(item, name, value)
    item.completion_notes = f"{item.completion_notes}\n\n{note}" if item.completion_notes else note
    audit.record(session, actor=ACTOR, action="action_item.auto_closed", entity="action_item", entity_id=item.id,
                 diff={"status": {"from": "open", "to": "wont_do"}, "note": note})
    await _announce(session, report, EventType.action_item_auto_closed, item, subject=str(item.id),
                    reason="p3_open_over_90_days", extra={"note": note})


async def _announce(session: AsyncSession, report: Report, event_type: EventType, item: ActionItem, *, subject: str,
                    reason: str, extra: dict[str, Any], level: int = 0, kind: str | None = None) -> None:
    if not await outbox.first_time(session, kind=kind or event_type, subject=subject, level=level):
        return
    data, facets = await action_item_subject(session, item)
    summary = {
        EventType.action_item_overdue: f"“{item.title}” ({item.priority}, {item.owner}) is overdue since "
                                       f"{item.due_date.isoformat()}",
        EventType.action_item_escalated: f"“{item.title}” ({item.priority}, {item.owner}) escalated to the "
                                         f"{AUDIENCE[level]} ({reason})",
        EventType.action_item_stale: f"“{item.title}” ({item.owner}) has not moved ({reason})",
        EventType.action_item_auto_closed: f"“{item.title}” closed as won't do: open for over "
                                           f"{P3_AUTO_CLOSE_AFTER.days} days at P3",
    }[event_type]
    await outbox.record(session, event_type=event_type, facets=facets, data={
        "summary": summary, "level": level, "audience": AUDIENCE[level], "reason": reason, "action_item": data,
        **extra})
    counter = {EventType.action_item_overdue: "overdue", EventType.action_item_escalated: "escalated",
               EventType.action_item_stale: "stale", EventType.action_item_auto_closed: "auto_closed"}[event_type]
    setattr(report, counter, getattr(report, counter) + 1)
    report.events.append((str(event_type), str(item.id), level))
