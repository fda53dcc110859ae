"""Creating an action item's Jira issue exactly once, whatever fails.

`creating` is committed before the create call, with a lease so that a second
worker stays away while the first is talking to Jira. Any attempt after the
first searches Jira by the item's label before creating — twice, a short delay
apart, because Jira search lags behind writes. If duplicates are ever found, the
oldest wins and the others are recorded on the ticket.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.dml import rowcount
from app.core.settings import Settings
from app.core.vendors import IssueRef, JiraClient
from app.integrations.jira.client import JiraRejected
from app.models import audit
from app.models.postmortems import ActionItem, Finding, Postmortem
from app.models.tickets import IN_FLIGHT, JIRA_OWNED, Ticket, TicketState

LABEL = "loopgate"
LEASE = timedelta(minutes=2)


def item_label(action_item_id: uuid.UUID) -> str:
    return f"loopgate-{action_item_id}"


def postmortem_url(settings: Settings, postmortem_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/postmortems/{postmortem_id}"


def issue_fields(settings: Settings, *, item: ActionItem, finding: Finding, postmortem: Postmortem) -> dict[str, Any]:
    """The create call: summary, description, labels, priority and due date."""
    description = "\n\n".join(filter(None, [
        f"Finding ({finding.category}): {finding.statement}",
        f"Action item: {item.title}",
        item.description,
        f"Durability: {item.durability}",
        f"Owner: {item.owner}",
        f"Postmortem: {postmortem.title} — {postmortem_url(settings, postmortem.id)}",
    ]))
    fields: dict[str, Any] = {
        "project": {"key": settings.jira_project},
        "issuetype": {"name": settings.jira_issue_type},
        "summary": item.title[:250],
        "description": description,
        "labels": [LABEL, item_label(item.id)],
        "duedate": item.due_date.isoformat(),
    }
    priority = settings.jira_priority.get(item.priority)
    if priority:
        fields["priority"] = {"name": priority}
    return fields


@dataclass(frozen=True)
class Claim:
    ticket_id: uuid.UUID
    action_item_id: uuid.UUID
    postmortem_id: uuid.UUID
    title: str
    fields: dict[str, Any] | None  # None: the issue exists, only the link back is missing
    jira_key: str | None
    search_first: bool


async def claim(session: AsyncSession, *, ticket_id: uuid.UUID, settings: Settings) -> Claim | None:
    """Take the ticket for one attempt; None when there is nothing to do or another worker holds it.

    The lease is taken by one conditional UPDATE, so two workers cannot both win — on
    PostgreSQL and on SQLite alike.
    """
    now = clock.now()
    taken = await session.execute(
        sa.update(Ticket).where(col(Ticket.id) == ticket_id, _workable(now)).values(lease_until=now + LEASE)
    )
    if rowcount(taken) != 1:
        return None
    ticket = await session.get_one(Ticket, ticket_id, populate_existing=True)
    item = await session.get_one(ActionItem, ticket.action_item_id)
    finding = await session.get_one(Finding, item.finding_id)
    postmortem = await session.get_one(Postmortem, finding.postmortem_id)
    if ticket.state in JIRA_OWNED:
        return Claim(ticket.id, item.id, postmortem.id, item.title, None, ticket.jira_key, False)
    search_first = ticket.attempts > 0
    ticket.state = TicketState.creating
    ticket.attempts += 1
    ticket.updated_at = now
    return Claim(ticket.id, item.id, postmortem.id, item.title,
                 issue_fields(settings, item=item, finding=finding, postmortem=postmortem), None, search_first)


async def find_or_create(jira: JiraClient, claim: Claim, *, search_delay: float) -> tuple[IssueRef, list[str]]:
    """The item's issue: found by label when an earlier attempt may have created it, else created now."""
    if claim.search_first:
        label = item_label(claim.action_item_id)
        found = await jira.issues_with_label(label)
        if not found:
            await asyncio.sleep(search_delay)
            found = await jira.issues_with_label(label)
        if found:
            return found[0], [issue.key for issue in found[1:]]
    assert claim.fields is not None  # only a claim that creates the issue comes here
    return await jira.create_issue(claim.fields), []


async def record_created(session: AsyncSession, *, claim: Claim, issue: IssueRef, duplicates: list[str]) -> None:
    ticket = await session.get_one(Ticket, claim.ticket_id)
    if ticket.state != TicketState.creating:
        # Relinked by a person while this attempt ran: their link stands; report the extra issue.
        ticket.last_error = f"Jira issue {issue.key} was created for this item but it was relinked meanwhile"
        return
    ticket.state, ticket.jira_key = TicketState.created, issue.key
    ticket.jira_id, ticket.url = issue.issue_id, issue.url
    ticket.status_category = ticket.status_category or "new"
    ticket.duplicate_keys = duplicates
    ticket.last_error = (f"duplicate Jira issues for this action item: {', '.join(duplicates)} "
                         f"(kept the oldest, {issue.key})") if duplicates else None
    ticket.lease_until = ticket.next_attempt_at = None
    ticket.updated_at = clock.now()
    audit.record(session, actor="jira", action="ticket.created", entity="action_item", entity_id=claim.action_item_id,
                 diff={"jira_key": issue.key, "duplicates": duplicates})


async def record_failure(session: AsyncSession, *, claim: Claim, error: Exception, settings: Settings) -> None:
    """Keep the error; retry later with back-off, or give up (`failed`) after the last attempt."""
    ticket = await session.get_one(Ticket, claim.ticket_id)
    now = clock.now()
    ticket.last_error = f"{type(error).__name__}: {error}"[:4000]
    ticket.lease_until = None
    ticket.updated_at = now
    if claim.fields is None:  # only the link back failed; the issue exists
        ticket.next_attempt_at = now + timedelta(seconds=settings.jira_backoff_seconds)
        return
    give_up = isinstance(error, JiraRejected) or ticket.attempts >= settings.jira_max_attempts
    if give_up:
        ticket.state = TicketState.failed
        audit.record(session, actor="jira", action="ticket.failed", entity="action_item",
                     entity_id=claim.action_item_id, diff={"error": ticket.last_error})
        return
    wait = getattr(error, "retry_after", None) or settings.jira_backoff_seconds * 2 ** (ticket.attempts - 1)
    ticket.next_attempt_at = now + timedelta(seconds=wait)


async def record_linked_back(session: AsyncSession, *, ticket_id: uuid.UUID) -> None:
    ticket = await session.get_one(Ticket, ticket_id)
    ticket.remote_link_added = True
    ticket.lease_until = ticket.next_attempt_at = None
    if not ticket.duplicate_keys:  # the duplicates note stays; a retried link's error does not
        ticket.last_error = None


def _workable(now: datetime) -> sa.ColumnElement[bool]:
    """A ticket with work left (its issue to create, or the link back to add) and no live lease on it."""
    unlinked = sa.and_(col(Ticket.state).in_(JIRA_OWNED), col(Ticket.remote_link_added).is_(False))
    free = sa.or_(col(Ticket.lease_until).is_(None), col(Ticket.lease_until) <= now)
    return sa.and_(sa.or_(col(Ticket.state).in_(IN_FLIGHT), unlinked), free)


async def unfinished(session: AsyncSession, *, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """Tickets a lost job left: still to create (due for a retry, lease expired), or lacking the link back."""
    due = sa.or_(col(Ticket.next_attempt_at).is_(None), col(Ticket.next_attempt_at) <= now)
    return list(await session.scalars(
        sa.select(col(Ticket.id)).where(_workable(now), due).order_by(col(Ticket.created_at)).limit(limit)))
