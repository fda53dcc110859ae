"""Reconciliation with Jira: catch the webhooks that never came.

Every Loopgate issue updated since the last run is applied, and tickets whose issue is
gone are marked missing (a deletion's webhook can be lost too). The job reads the
plan in one transaction, asks Jira with none open, and applies in another.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.settings import Settings
from app.core.vendors import IssueState, JiraClient
from app.integrations.jira.client import JiraNotFound
from app.models.tickets import JIRA_OWNED, JobMark, Ticket, TicketState
from app.tickets.status import apply_issue_state, mark_missing, ticket_for_issue
from app.tickets.sync import LABEL

RECONCILE_MARK = "reconcile_jira"
# JQL compares `updated` in the Jira user's time zone at minute precision: look back generously.
RECONCILE_OVERLAP = timedelta(days=1)
FIRST_RECONCILE = timedelta(days=30)
SEARCH_LAG_ALLOWANCE = timedelta(minutes=10)
ACTOR = "jira-reconcile"


@dataclass(frozen=True)
class Plan:
    started: datetime
    since: datetime
    tickets: list[tuple[str, str, datetime]]  # jira_key, state, created_at of every created or linked ticket


@dataclass
class Observed:
    """What Jira said: issue states, and the keys it no longer knows."""

    states: list[IssueState] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


async def plan(session: AsyncSession, *, started: datetime) -> Plan:
    """Where the last run got to, and the tickets that have an issue."""
    mark = await session.get(JobMark, RECONCILE_MARK)
    since = (mark.value - RECONCILE_OVERLAP) if mark else started - FIRST_RECONCILE
    tickets = (await session.execute(
        sa.select(col(Ticket.jira_key), col(Ticket.state),
                  col(Ticket.created_at)).where(col(Ticket.state).in_(JIRA_OWNED))
    )).all()
    return Plan(started, since, [(key or "", state, created) for key, state, created in tickets])


async def observe(jira: JiraClient, plan: Plan) -> Observed:
    """Ask Jira for every issue of the plan (no transaction is open meanwhile)."""
    observed = Observed(await jira.updated_since(LABEL, plan.since))
    labelled = await jira.keys_with_label(LABEL)
    # Linked issues do not carry Loopgate's label; a created one absent from the label search may be
    # gone, or too new for the search to show it: ask for each by key.
    to_read = [key for key, state, created in plan.tickets
               if state == TicketState.linked or (key not in labelled
                                                  and created < plan.started - SEARCH_LAG_ALLOWANCE)]
    for key in to_read:
        try:
            observed.states.append(await jira.get_issue(key))
        except JiraNotFound:
            observed.missing.append(key)
    return observed


async def apply(session: AsyncSession, *, plan: Plan, observed: Observed, settings: Settings) -> int:
    """Apply what Jira said and move the mark to this run's start; returns how many tickets changed."""
    applied = 0
    for state in observed.states:
        ticket = await ticket_for_issue(session, issue_id=state.issue_id, key=state.key, lock=True)
        if ticket is not None and await apply_issue_state(
                session, ticket=ticket, state=state, seen_at=None,
                wont_do_resolutions=settings.jira_wont_do_resolutions, actor=ACTOR):
            applied += 1
    for key in observed.missing:
        ticket = await ticket_for_issue(session, issue_id=None, key=key, lock=True)
        if ticket is not None:
            await mark_missing(session, ticket=ticket, actor=ACTOR)
    existing = await session.get(JobMark, RECONCILE_MARK)
    if existing is None:
        session.add(JobMark(name=RECONCILE_MARK, value=plan.started))
    else:
        existing.value = plan.started
    return applied
