"""Ticket jobs: create an issue exactly once; reconcile with Jira; sweep up what lost jobs left."""

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app import clock
from app.integrations.jira.client import JiraNotFound, JiraRejected, JiraUnavailable
from app.queue import Job
from app.tickets import sync
from app.tickets.models import JobMark, Ticket
from app.tickets.status import apply_issue_state, mark_missing, ticket_for_issue

RECONCILE_MARK = "reconcile_jira"
# JQL compares `updated` in the Jira user's time zone at minute precision: look back generously.
RECONCILE_OVERLAP = timedelta(days=1)
FIRST_RECONCILE = timedelta(days=30)
SEARCH_LAG_ALLOWANCE = timedelta(minutes=10)


async def sync_ticket(ctx: dict[str, Any], ticket_id: str) -> None:
    """Create (or find) the Jira issue of one action item and link it back; safe to run twice, or at once."""
    runtime = ctx["runtime"]
    if runtime.jira is None:
        return  # the ticket stays pending until Jira is configured; the sweeper comes back
    async with runtime.sessionmaker() as session:
        claim = await sync.claim(session, ticket_id=uuid.UUID(ticket_id), settings=runtime.settings)
        await session.commit()
    if claim is None:
        return
    jira_key = claim.jira_key
    if claim.fields is not None:
        try:
            issue, duplicates = await sync.find_or_create(runtime.jira, claim,
                                                          search_delay=runtime.settings.jira_search_delay_seconds)
        except Exception as exc:  # whatever it was, it is counted, recorded on the row, and retried or failed
            async with runtime.sessionmaker() as session:
                await sync.record_failure(session, claim=claim, error=exc, settings=runtime.settings)
                await session.commit()
            return
        async with runtime.sessionmaker() as session:
            await sync.record_created(session, claim=claim, issue=issue, duplicates=duplicates)
            await session.commit()
        jira_key = issue.key
    try:
        await runtime.jira.add_remote_link(
            jira_key, global_id=f"loopgate:action-item:{claim.action_item_id}",
            url=sync.postmortem_url(runtime.settings, claim.postmortem_id), title=f"Loopgate postmortem: {claim.title}")
    except (JiraUnavailable, JiraRejected, JiraNotFound) as exc:
        async with runtime.sessionmaker() as session:
            await sync.record_failure(session, claim=dataclasses.replace(claim, fields=None), error=exc,
                                      settings=runtime.settings)
            await session.commit()
        return
    async with runtime.sessionmaker() as session:
        await sync.record_linked_back(session, ticket_id=claim.ticket_id)
        await session.commit()


async def reconcile_jira(ctx: dict[str, Any]) -> int:
    """Catch webhooks that never came: apply every Loopgate issue updated since the last run, and
    mark missing the tickets whose issue is gone (a deletion's webhook can be lost too)."""
    runtime = ctx["runtime"]
    if runtime.jira is None:
        return 0
    started = clock.now()
    async with runtime.sessionmaker() as session:
        mark = await session.get(JobMark, RECONCILE_MARK)
        since = (mark.value - RECONCILE_OVERLAP) if mark else started - FIRST_RECONCILE
        tickets = (await session.execute(
            sa.select(Ticket.jira_key, Ticket.state, Ticket.created_at).where(Ticket.state.in_(("created", "linked")))
        )).all()
    states = await runtime.jira.updated_since(sync.LABEL, since)
    labelled = await runtime.jira.keys_with_label(sync.LABEL)
    # Linked issues do not carry Loopgate's label; a created one absent from the label search may be
    # gone, or too new for the search to show it: ask for each by key.
    to_read = [key for key, state, created in tickets
               if state == "linked" or (key not in labelled and created < started - SEARCH_LAG_ALLOWANCE)]
    missing: list[str] = []
    for key in to_read:
        try:
            states.append(await runtime.jira.get_issue(key))
        except JiraNotFound:
            missing.append(key)
    applied = 0
    async with runtime.sessionmaker() as session:
        for state in states:
            ticket = await ticket_for_issue(session, issue_id=state.issue_id, key=state.key, lock=True)
            if ticket is not None and await apply_issue_state(
                    session, ticket=ticket, state=state, seen_at=None,
                    wont_do_resolutions=runtime.settings.jira_wont_do_resolutions, actor="jira-reconcile"):
                applied += 1
        for key in missing:
            ticket = await ticket_for_issue(session, issue_id=None, key=key, lock=True)
            if ticket is not None:
                await mark_missing(session, ticket=ticket, actor="jira-reconcile")
        existing = await session.get(JobMark, RECONCILE_MARK)
        if existing is None:
            session.add(JobMark(name=RECONCILE_MARK, value=started))
        else:
            existing.value = started
        await session.commit()
    return applied


async def sweep_tickets(ctx: dict[str, Any]) -> int:
    """Resubmit tickets still to create (due for a retry, lease expired) or still lacking the link back."""
    runtime = ctx["runtime"]
    now = clock.now()
    async with runtime.sessionmaker() as session:
        due = sa.or_(Ticket.next_attempt_at.is_(None), Ticket.next_attempt_at <= now)
        free = sa.or_(Ticket.lease_until.is_(None), Ticket.lease_until <= now)
        unlinked = sa.and_(Ticket.state.in_(("created", "linked")), Ticket.remote_link_added.is_(False))
        ids = list(await session.scalars(
            sa.select(Ticket.id).where(sa.or_(Ticket.state.in_(("pending", "creating")), unlinked), due, free)
            .order_by(Ticket.created_at).limit(1000)))
    for ticket_id in ids:
        runtime.queue.submit(Job("sync_ticket", (str(ticket_id),)))
    return len(ids)
