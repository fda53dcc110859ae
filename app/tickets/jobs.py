"""Ticket jobs: create an issue exactly once; reconcile with Jira; sweep up what lost jobs left."""

import dataclasses
import uuid

from app.core import clock
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.integrations.jira.client import JiraNotFound, JiraRejected, JiraUnavailable
from app.tickets import reconcile, sync


async def sync_ticket(ctx: JobContext, ticket_id: str) -> None:
    """Create (or find) the Jira issue of one action item and link it back; safe to run twice, or at once."""
    runtime = runtime_of(ctx)
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
    assert jira_key is not None  # without fields to create, the claim is of a ticket Jira owns: it has its key
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


async def reconcile_jira(ctx: JobContext) -> int:
    """Catch webhooks that never came (app/tickets/reconcile.py); running twice applies nothing twice."""
    runtime = runtime_of(ctx)
    if runtime.jira is None:
        return 0
    async with runtime.sessionmaker() as session:
        plan = await reconcile.plan(session, started=clock.now())
        await session.commit()
    observed = await reconcile.observe(runtime.jira, plan)
    async with runtime.sessionmaker() as session:
        applied = await reconcile.apply(session, plan=plan, observed=observed, settings=runtime.settings)
        await session.commit()
    return applied


async def sweep_tickets(ctx: JobContext) -> int:
    """Resubmit tickets still to create (due for a retry, lease expired) or still lacking the link back."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        ids = await sync.unfinished(session, now=clock.now())
    for ticket_id in ids:
        runtime.queue.submit(Job("sync_ticket", (str(ticket_id),)))
    return len(ids)
