"""Read models: postmortems, findings and action items as the API answers them.

A postmortem's detail nests its findings and their action items, and carries the
blame-lint issues and the Integration Gate evaluated at the moment of the request.
"""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import Page
from app.core.settings import Settings
from app.models.postmortems import ActionItem, Finding, Postmortem, is_overdue
from app.models.tickets import Ticket
from app.postmortems.action_items import today
from app.postmortems.advice import advise
from app.postmortems.blame import indicators_of
from app.postmortems.gate import IntegrationGate
from app.postmortems.lint import blame_issues
from app.postmortems.reads import (
    action_items_for,
    get_postmortem,
    incident_ids_for,
    load_record,
    postmortem_ids_for,
    tags_for,
    tickets_for,
)
from app.postmortems.schemas import (
    ActionItemList,
    ActionItemPublic,
    AdvicePublic,
    FindingList,
    FindingPublic,
    LocatedBlameIssue,
    PostmortemDetail,
    PostmortemList,
    PostmortemPublic,
    TicketPublic,
)


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _ticket(ticket: Ticket | None) -> TicketPublic | None:
    if ticket is None:
        return None
    return TicketPublic(state=ticket.state, jira_key=ticket.jira_key, url=ticket.url,
                        status_category=ticket.status_category, last_error=ticket.last_error)


def _action_item(item: ActionItem, *, postmortem_id: uuid.UUID, on: date, ticket: Ticket | None) -> ActionItemPublic:
    return ActionItemPublic(**_columns(item), postmortem_id=postmortem_id, overdue=is_overdue(item, on=on),
                            ticket=_ticket(ticket))


def _finding(finding: Finding, *, tags: list[str], items: Sequence[ActionItem], on: date,
             tickets: dict[uuid.UUID, Ticket]) -> FindingPublic:
    advice = advise(impact=finding.impact, effort=finding.effort, decision=finding.decision)
    return FindingPublic(
        **_columns(finding), tags=tags, advice=AdvicePublic(**vars(advice)),
        action_items=[_action_item(item, postmortem_id=finding.postmortem_id, on=on, ticket=tickets.get(item.id))
                      for item in items],
    )


async def finding_views(session: AsyncSession, findings: Sequence[Finding]) -> list[FindingPublic]:
    """Findings with their tags, advice and action items."""
    ids = [finding.id for finding in findings]
    tags, items = await tags_for(session, finding_ids=ids), await action_items_for(session, finding_ids=ids)
    tickets = await tickets_for(session, action_item_ids=[i.id for group in items.values() for i in group])
    on = today()
    return [_finding(f, tags=tags.get(f.id, []), items=items.get(f.id, []), on=on, tickets=tickets)
            for f in findings]


async def finding_list(session: AsyncSession, page: Page[Finding]) -> FindingList:
    """A page of the knowledge base."""
    return FindingList(items=await finding_views(session, page.items), next_cursor=page.next_cursor)


async def action_item_views(session: AsyncSession, items: Sequence[ActionItem]) -> list[ActionItemPublic]:
    """Action items with their postmortem id and whether they are overdue today."""
    postmortems = await postmortem_ids_for(session, finding_ids=list({item.finding_id for item in items}))
    tickets = await tickets_for(session, action_item_ids=[item.id for item in items])
    on = today()
    return [_action_item(item, postmortem_id=postmortems[item.finding_id], on=on, ticket=tickets.get(item.id))
            for item in items]


async def action_item_list(session: AsyncSession, page: Page[ActionItem]) -> ActionItemList:
    """A page of action items."""
    return ActionItemList(items=await action_item_views(session, page.items), next_cursor=page.next_cursor)


async def postmortem_list(session: AsyncSession, page: Page[Postmortem]) -> PostmortemList:
    """A page of postmortems with their incident ids (no findings: those are in the detail)."""
    incidents = await incident_ids_for(session, postmortem_ids=[p.id for p in page.items])
    return PostmortemList(
        items=[PostmortemPublic(**_columns(p), incident_ids=incidents.get(p.id, [])) for p in page.items],
        next_cursor=page.next_cursor,
    )


async def postmortem_detail(session: AsyncSession, *, postmortem_id: uuid.UUID, settings: Settings,
                            gate: IntegrationGate) -> PostmortemDetail:
    """The postmortem with findings, action items, analysis, blame issues and the gate evaluated now."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id)
    record = await load_record(session, postmortem=postmortem)
    verdict = await gate(session, postmortem=postmortem, settings=settings)
    issues = blame_issues(postmortem, record.findings, indicators=indicators_of(settings))
    on = today()
    return PostmortemDetail(
        **_columns(postmortem),
        incident_ids=record.incident_ids,
        findings=[_finding(f, tags=record.tags.get(f.id, []), items=record.action_items.get(f.id, []), on=on,
                           tickets=record.tickets) for f in record.findings],
        blame_issues=[LocatedBlameIssue(field=i.field, finding_id=i.finding_id, sentence=i.issue.sentence,
                                        indicator=i.issue.indicator, suggestion=i.issue.suggestion,
                                        start=i.issue.start, end=i.issue.end) for i in issues],
        gate=verdict.to_dict(),
    )
