"""Tickets: ask for an action item's Jira issue, link an existing one, apply Jira's webhooks."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit, clock
from app.errors import AppError
from app.inbound.models import InboundEvent
from app.integrations.jira.client import JiraGateway, JiraNotFound, JiraRejected, JiraUnavailable
from app.integrations.jira.schemas import IssueState, issue_state
from app.postmortems.models import ActionItem
from app.queue import enqueue_after_commit
from app.tickets.models import Ticket
from app.tickets.status import apply_issue_state, mark_missing, set_item_status, status_for, ticket_for_issue


class JiraIssueNotFound(AppError):
    status_code, error = 422, "jira_issue_not_found"


class JiraUnavailableError(AppError):
    status_code, error = 502, "jira_unavailable"


class TicketExists(AppError):
    status_code, error = 409, "ticket_exists"


async def ticket_of(session: AsyncSession, *, action_item_id: Any, lock: bool = False) -> Ticket | None:
    query = sa.select(Ticket).where(Ticket.action_item_id == action_item_id)
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return await session.scalar(query)


async def look_up(runtime: Any, jira_key: str) -> IssueState:
    """The existing issue a client wants to link, read before any write: no lock is held during the call."""
    if runtime.jira is None:
        raise JiraUnavailableError("Jira is not configured (LOOPGATE_JIRA_URL, LOOPGATE_JIRA_API_TOKEN).")
    try:
        return await runtime.jira.get_issue(jira_key)
    except JiraNotFound:
        raise JiraIssueNotFound(f"Jira has no issue {jira_key} (or this account cannot see it).",
                                details={"jira_key": jira_key}) from None
    except (JiraUnavailable, JiraRejected) as exc:
        raise JiraUnavailableError(f"Could not check {jira_key} in Jira: {exc}") from None


async def attach(session: AsyncSession, *, item: ActionItem, create_ticket: bool, issue: IssueState | None,
                 runtime: Any, actor: str) -> Ticket | None:
    """Give an item the ticket it asks for: link an issue already looked up, or queue a new one."""
    if issue is not None:
        return await link_ticket(session, item=item, issue=issue, jira=runtime.jira,
                                 wont_do_resolutions=runtime.settings.jira_wont_do_resolutions, actor=actor)
    if create_ticket:
        return await request_ticket(session, item=item, actor=actor)
    return None


async def request_ticket(session: AsyncSession, *, item: ActionItem, actor: str) -> Ticket:
    """Queue the creation of the item's Jira issue (again, when the old one is missing or failed)."""
    ticket = await ticket_of(session, action_item_id=item.id, lock=True)
    if ticket is None:
        ticket = Ticket(action_item_id=item.id, state="pending", attempts=0, duplicate_keys=[],
                        remote_link_added=False)
        session.add(ticket)
    elif ticket.state in ("created", "linked", "pending", "creating"):
        return ticket  # already has one, or is getting one
    else:
        # Missing or failed: start over, searching by label first (attempts > 0) with a fresh budget.
        ticket.attempts = 1
        ticket.state, ticket.jira_key, ticket.jira_id, ticket.url = "pending", None, None, None
        ticket.status_category = ticket.resolution = ticket.jira_updated_at = ticket.last_error = None
        ticket.remote_link_added, ticket.next_attempt_at, ticket.updated_at = False, None, clock.now()
    await session.flush()
    audit.record(session, actor=actor, action="ticket.requested", entity="action_item", entity_id=item.id)
    enqueue_after_commit(session, "sync_ticket", str(ticket.id))
    return ticket


async def link_ticket(session: AsyncSession, *, item: ActionItem, issue: IssueState, jira: JiraGateway,
                      wont_do_resolutions: list[str], actor: str) -> Ticket:
    """Link an existing Jira issue (see `look_up`); its status becomes the item's status.

    A ticket that is being created, or exists, is not replaced: that would orphan its issue.
    """
    state = issue
    ticket = await ticket_of(session, action_item_id=item.id, lock=True)
    if ticket is not None and ticket.state in ("pending", "creating", "created"):
        raise TicketExists(f"Action item {item.id} already has a Jira ticket ({ticket.state}"
                           f"{', ' + ticket.jira_key if ticket.jira_key else ''}); only a missing, failed or "
                           "linked ticket can be relinked.", details={"state": ticket.state})
    if ticket is None:
        ticket = Ticket(action_item_id=item.id, attempts=0, duplicate_keys=[])
        session.add(ticket)
    ticket.state, ticket.jira_key, ticket.jira_id, ticket.url = "linked", state.key, state.issue_id, \
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


async def apply_jira_event(session: AsyncSession, inbound: InboundEvent, runtime: Any) -> None:
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
                            wont_do_resolutions=runtime.settings.jira_wont_do_resolutions, actor="jira")
