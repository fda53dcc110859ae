"""Tickets: ask for an action item's Jira issue, link an existing one, apply Jira's webhooks."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.db import lock_for_update
from app.core.errors import AppError
from app.core.inbox import StoredEvent
from app.core.queue import enqueue_after_commit
from app.core.settings import Settings
from app.core.vendors import IssueState, JiraClient
from app.integrations.jira.client import JiraNotFound, JiraRejected, JiraUnavailable
from app.integrations.jira.schemas import issue_state
from app.models import audit
from app.models.postmortems import ActionItem
from app.models.tickets import IN_FLIGHT, JIRA_OWNED, Ticket, TicketState
from app.postmortems import action_items
from app.postmortems.reads import get_action_item, get_finding
from app.tickets.status import (
    apply_issue_state,
    mark_missing,
    set_item_status,
    status_for,
    ticket_for_issue,
)


class JiraIssueNotFound(AppError):
    status_code, error = 422, "jira_issue_not_found"


class JiraUnavailableError(AppError):
    status_code, error = 502, "jira_unavailable"


class TicketExists(AppError):
    status_code, error = 409, "ticket_exists"


async def ticket_of(session: AsyncSession, *, action_item_id: uuid.UUID, lock: bool = False) -> Ticket | None:
    query = sa.select(Ticket).where(col(Ticket.action_item_id) == action_item_id)
    return await session.scalar(lock_for_update(session, query) if lock else query)


async def look_up(jira: JiraClient | None, jira_key: str) -> IssueState:
    """The existing issue a client wants to link, read before any write: no lock is held during the call."""
    if jira is None:
        raise JiraUnavailableError("Jira is not configured (LOOPGATE_JIRA_URL, LOOPGATE_JIRA_API_TOKEN).")
    try:
        return await jira.get_issue(jira_key)
    except JiraNotFound:
        raise JiraIssueNotFound(f"Jira has no issue {jira_key} (or this account cannot see it).",
                                details={"jira_key": jira_key}) from None
    except (JiraUnavailable, JiraRejected) as exc:
        raise JiraUnavailableError(f"Could not check {jira_key} in Jira: {exc}") from None


async def create_action_item(session: AsyncSession, *, finding_id: uuid.UUID, fields: dict[str, Any],
                             create_ticket: bool, jira_key: str | None, jira: JiraClient | None, settings: Settings,
                             actor: str) -> ActionItem:
    """Add an action item with the ticket it asks for; an issue to link is read from Jira before any write."""
    await get_finding(session, finding_id=finding_id)  # 404 before asking Jira anything
    issue = await look_up(jira, jira_key) if jira_key else None
    item = await action_items.create_action_item(session, finding_id=finding_id, fields=fields, actor=actor)
    await attach(session, item=item, create_ticket=create_ticket, issue=issue, jira=jira, settings=settings,
                 actor=actor)
    return item


async def update_action_item(session: AsyncSession, *, action_item_id: uuid.UUID, changes: dict[str, Any],
                             create_ticket: bool, jira_key: str | None, jira: JiraClient | None, settings: Settings,
                             actor: str) -> ActionItem:
    """Edit an action item; a new `jira_key` (read from Jira before any write) or `create_ticket` replaces a
    missing or failed ticket."""
    await get_action_item(session, action_item_id=action_item_id)  # 404 before asking Jira anything
    issue = await look_up(jira, jira_key) if jira_key else None
    item = await action_items.update_action_item(session, action_item_id=action_item_id, changes=changes, actor=actor)
    await attach(session, item=item, create_ticket=create_ticket, issue=issue, jira=jira, settings=settings,
                 actor=actor)
    return item


async def attach(session: AsyncSession, *, item: ActionItem, create_ticket: bool, issue: IssueState | None,
                 jira: JiraClient | None, settings: Settings, actor: str) -> Ticket | None:
    """Give an item the ticket it asks for: link an issue already looked up (so `jira` is set), or queue a new one."""
    if issue is not None and jira is not None:
        return await link_ticket(session, item=item, issue=issue, jira=jira,
                                 wont_do_resolutions=settings.jira_wont_do_resolutions, actor=actor)
    if create_ticket:
        return await request_ticket(session, item=item, actor=actor)
    return None


async def request_ticket(session: AsyncSession, *, item: ActionItem, actor: str) -> Ticket:
    """Queue the creation of the item's Jira issue (again, when the old one is missing or failed)."""
    ticket = await ticket_of(session, action_item_id=item.id, lock=True)
    if ticket is None:
        ticket = Ticket(action_item_id=item.id, state=TicketState.pending, attempts=0, duplicate_keys=[],
                        remote_link_added=False)
        session.add(ticket)
    elif ticket.state in JIRA_OWNED | IN_FLIGHT:
        return ticket  # already has one, or is getting one
    else:
        # Missing or failed: start over, searching by label first (attempts > 0) with a fresh budget.
        ticket.attempts = 1
        ticket.state, ticket.jira_key, ticket.jira_id, ticket.url = TicketState.pending, None, None, None
        ticket.status_category = ticket.resolution = ticket.jira_updated_at = ticket.last_error = None
        ticket.remote_link_added, ticket.next_attempt_at, ticket.updated_at = False, None, clock.now()
    await session.flush()
    audit.record(session, actor=actor, action="ticket.requested", entity="action_item", entity_id=item.id)
    enqueue_after_commit(session, "sync_ticket", str(ticket.id))
    return ticket


async def link_ticket(session: AsyncSession, *, item: ActionItem, issue: IssueState, jira: JiraClient,
                      wont_do_resolutions: list[str], actor: str) -> Ticket:
    """Link an existing Jira issue (see `look_up`); its status becomes the item's status.

    A ticket that is being created, or exists, is not replaced: that would orphan its issue.
    """
    state = issue
    ticket = await ticket_of(session, action_item_id=item.id, lock=True)
    if ticket is not None and ticket.state in IN_FLIGHT | {TicketState.created}:
        raise TicketExists(f"Action item {item.id} already has a Jira ticket ({ticket.state}"
                           f"{', ' + ticket.jira_key if ticket.jira_key else ''}); only a missing, failed or "
                           "linked ticket can be relinked.", details={"state": ticket.state})
    if ticket is None:
        ticket = Ticket(action_item_id=item.id, attempts=0, duplicate_keys=[])
        session.add(ticket)
    ticket.state, ticket.jira_key, ticket.jira_id, ticket.url = TicketState.linked, state.key, state.issue_id, \
        jira.browse_url(state.key)
    ticket.status_category, ticket.resolution, ticket.jira_updated_at = state.status_category, state.resolution, \
        state.updated
    ticket.remote_link_added, ticket.last_error, ticket.next_attempt_at = False, None, None
    ticket.updated_at = clock.now()
    await session.flush()
    audit.record(session, actor=actor, action="ticket.linked", entity="action_item", entity_id=item.id,
                 diff={"jira_key": state.key})
    await set_item_status(session, action_item_id=item.id,
                          status=status_for(state.status_category, state.resolution, wont_do_resolutions),
                          actor=actor, jira_key=state.key)
    enqueue_after_commit(session, "sync_ticket", str(ticket.id))  # adds the link back to the postmortem
    return ticket


async def apply_jira_event(session: AsyncSession, inbound: StoredEvent, settings: Settings) -> None:
    """A Jira webhook: deleted → `missing`; otherwise the issue's status drives the action item.

    Issues Loopgate neither created nor linked are ignored.
    """
    state = issue_state(inbound.payload.get("issue"))
    if state is None:
        return
    ticket = await ticket_for_issue(session, issue_id=state.issue_id, key=state.key, lock=True)
    if ticket is None:
        return
    if inbound.event_type == "jira:issue_deleted":
        await mark_missing(session, ticket=ticket, actor="jira")
        return
    await apply_issue_state(session, ticket=ticket, state=state, seen_at=inbound.occurred_at,
                            wont_do_resolutions=settings.jira_wont_do_resolutions, actor="jira")
