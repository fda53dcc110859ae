"""Jira owns the status of a ticketed action item: apply what Jira says, never an older state."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.db import lock_for_update
from app.core.vendors import IssueState
from app.models import audit
from app.models.postmortems import ActionItem, ActionItemStatus
from app.models.tickets import Ticket, TicketState
from app.postmortems.action_items import status_changes
from app.postmortems.changes import apply_changes

CATEGORY_STATUS = {"new": ActionItemStatus.open, "indeterminate": ActionItemStatus.in_progress,
                   "done": ActionItemStatus.completed}


def status_for(category: str | None, resolution: str | None, wont_do_resolutions: list[str]) -> str | None:
    """new → open, indeterminate → in_progress, done → completed (or wont_do for a won't-do resolution)."""
    status = CATEGORY_STATUS.get(category or "")
    if status == ActionItemStatus.completed and resolution and \
            resolution.lower() in {r.lower() for r in wont_do_resolutions}:
        return ActionItemStatus.wont_do
    return status


async def ticket_for_issue(session: AsyncSession, *, issue_id: str | None, key: str | None,
                           lock: bool = False) -> Ticket | None:
    """The ticket of a Jira issue, by id or key (keys change when an issue moves project)."""
    conditions = [col(Ticket.jira_id) == issue_id] if issue_id else []
    conditions += [col(Ticket.jira_key) == key] if key else []
    if not conditions:
        return None
    query = sa.select(Ticket).where(sa.or_(*conditions)).order_by(col(Ticket.created_at)).limit(1)
    return await session.scalar(lock_for_update(session, query) if lock else query)


async def apply_issue_state(session: AsyncSession, *, ticket: Ticket, state: IssueState, seen_at: datetime | None,
                            wont_do_resolutions: list[str], actor: str) -> bool:
    """Bring the ticket and its action item to the issue's state; False when the state is older than ours."""
    moment = state.updated or seen_at
    if moment is not None and ticket.jira_updated_at is not None and moment < ticket.jira_updated_at:
        return False
    # A deleted issue stays missing: an update delivered after the deletion is older than it.
    # Relinking (a new jira_key, or create_ticket) is how a person fixes a missing ticket.
    if state.status_category is None or ticket.state == TicketState.missing:
        return False
    ticket.status_category, ticket.resolution = state.status_category, state.resolution
    ticket.jira_updated_at = moment or ticket.jira_updated_at
    ticket.updated_at = clock.now()
    await set_item_status(session, action_item_id=ticket.action_item_id,
                          status=status_for(state.status_category, state.resolution, wont_do_resolutions),
                          actor=actor, jira_key=ticket.jira_key)
    return True


async def set_item_status(session: AsyncSession, *, action_item_id: uuid.UUID, status: str | None, actor: str,
                          jira_key: str | None) -> None:
    item = await session.get(ActionItem, action_item_id)
    if item is None or status is None or status == item.status:
        return
    diff = apply_changes(item, status_changes(item, status))
    item.updated_at = clock.now()
    audit.record(session, actor=actor, action="action_item.status_from_jira", entity="action_item",
                 entity_id=item.id, diff={**diff, "jira_key": jira_key})


async def mark_missing(session: AsyncSession, *, ticket: Ticket, actor: str) -> None:
    if ticket.state != TicketState.missing:
        ticket.state = TicketState.missing
        ticket.updated_at = clock.now()
        audit.record(session, actor=actor, action="ticket.missing", entity="action_item",
                     entity_id=ticket.action_item_id, diff={"jira_key": ticket.jira_key})
