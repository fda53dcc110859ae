"""recurrence.detected: a repeat incident whose earlier incident's fix was done (it did not hold) or late.

The same tests as DESIGN §5's `recurred_after_remediation` and `recurred_while_overdue`,
at the moment the repeat triggered; announced once per (repeat, earlier incident).
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.incidents import Incident
from app.models.notifications import EventType
from app.models.postmortems import ActionItem, ActionItemStatus, Finding, PostmortemIncident
from app.notifications import outbox
from app.notifications.subjects import incident_data, incident_facets


def verdict(items: list[ActionItem], *, at: datetime) -> str | None:
    """`fix_did_not_hold`, `fix_overdue`, or None, for the earlier incident's action items at `at`."""
    relevant = [i for i in items if i.status != ActionItemStatus.wont_do]
    done_before = [i for i in relevant if i.completed_at is not None and i.completed_at <= at]
    if done_before and len(done_before) == len(relevant):
        return "fix_did_not_hold"
    overdue = [i for i in items if i.created_at <= at and i.due_date < at.date()
               and (i.closed_at is None or i.closed_at > at)]
    return "fix_overdue" if overdue else None


async def announce(session: AsyncSession, *, incident_id: uuid.UUID, repeat_of_id: uuid.UUID) -> bool:
    """Record recurrence.detected when the verdict says so and it was not announced before."""
    repeat = await session.get_one(Incident, incident_id)
    earlier = await session.get_one(Incident, repeat_of_id)
    if repeat.triggered_at is None:
        return False
    items = list(await session.scalars(
        sa.select(ActionItem).join(Finding, col(Finding.id) == col(ActionItem.finding_id))
        .join(PostmortemIncident, col(PostmortemIncident.postmortem_id) == col(Finding.postmortem_id))
        .where(col(PostmortemIncident.incident_id) == earlier.id).order_by(col(ActionItem.created_at))))
    reason = verdict(items, at=repeat.triggered_at)
    if reason is None:
        return False
    what = "its fix was completed and did not hold" if reason == "fix_did_not_hold" else "its fix was overdue"
    data = {"summary": f"{repeat.title} recurred: {what}", "reason": reason, "incident": incident_data(repeat),
            "repeat_of": incident_data(earlier),
            "action_items": [{"id": i.id, "title": i.title, "status": i.status, "due_date": i.due_date,
                              "completed_at": i.completed_at} for i in items]}
    return await outbox.announce_once(session, event_type=EventType.recurrence_detected,
                                      subject=f"{incident_id}:{repeat_of_id}", data=data,
                                      facets=incident_facets([repeat]))
