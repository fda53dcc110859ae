"""The Integration Gate's view of a postmortem: `PostmortemFacts` built from the rows.

The rules themselves are pure (app/gates); this module only reads what they need:
findings, their action items, each incident's latest Event Packet, the
`similar_incidents_reviewed` flag and the blame-lint issue count.

Each action item carries its ticket (the Jira outbox row), or None when none was asked for.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.gates import (
    ActionItemFacts,
    FindingFacts,
    GateResult,
    PacketFacts,
    PostmortemFacts,
    TicketFacts,
    evaluate_postmortem,
)
from app.packets.service import latest_packets
from app.postmortems.blame import BlameIssue, Indicator, lint_blame
from app.postmortems.models import ActionItem, Finding, Postmortem
from app.postmortems.reads import action_items_for, findings_of, incident_ids_for, tags_for
from app.tickets.models import Ticket
from app.tickets.reads import tickets_for

# The postmortem's own prose, in the order an author reads it; finding statements follow.
TEXT_FIELDS = ("title", "summary", "what_went_well", "what_could_improve", "lessons")


@dataclass
class PostmortemRecord:
    """A postmortem with everything hanging off it, read once for the gate and the detail view."""

    postmortem: Postmortem
    incident_ids: list[uuid.UUID]
    findings: list[Finding]
    tags: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    action_items: dict[uuid.UUID, list[ActionItem]] = field(default_factory=dict)  # by finding id
    tickets: dict[uuid.UUID, Ticket] = field(default_factory=dict)  # by action item id


@dataclass(frozen=True)
class LocatedIssue:
    """A blame-lint issue and where it is: a postmortem field, or a finding's statement."""

    field: str
    finding_id: uuid.UUID | None
    issue: BlameIssue


async def load_record(session: AsyncSession, *, postmortem: Postmortem) -> PostmortemRecord:
    """Read the postmortem's incidents, findings, tags, action items and tickets (the detail view)."""
    incident_ids = (await incident_ids_for(session, postmortem_ids=[postmortem.id])).get(postmortem.id, [])
    findings = await findings_of(session, postmortem_id=postmortem.id)
    finding_ids = [finding.id for finding in findings]
    items = await action_items_for(session, finding_ids=finding_ids)
    tickets = await tickets_for(session, action_item_ids=[item.id for group in items.values() for item in group])
    return PostmortemRecord(postmortem, incident_ids, findings, await tags_for(session, finding_ids=finding_ids),
                            items, tickets)


def blame_issues(record: PostmortemRecord, *, indicators: Sequence[Indicator]) -> list[LocatedIssue]:
    """Blame language in the postmortem's prose and in its findings' statements."""
    located = []
    for name in TEXT_FIELDS:
        text = getattr(record.postmortem, name) or ""
        located += [LocatedIssue(name, None, issue) for issue in lint_blame(text, indicators)]
    for finding in record.findings:
        located += [LocatedIssue("statement", finding.id, issue) for issue in lint_blame(finding.statement, indicators)]
    return located


# The gate reads plain columns in one query: building ORM objects for every finding, action
# item and ticket cost more than the queries themselves (bench/gate.py).
_GATE_ROWS = (
    sa.select(Finding.id, Finding.decision, Finding.systemic, Finding.proposal, Finding.statement,
              ActionItem.id, ActionItem.owner, ActionItem.priority, ActionItem.due_date, ActionItem.status,
              Ticket.state, Ticket.jira_key)
    .outerjoin(ActionItem, ActionItem.finding_id == Finding.id)
    .outerjoin(Ticket, Ticket.action_item_id == ActionItem.id)
    .where(Finding.postmortem_id == sa.bindparam("postmortem_id"))
    .order_by(Finding.created_at, Finding.id, ActionItem.created_at, ActionItem.id)
)


async def evaluate(session: AsyncSession, *, postmortem: Postmortem, settings: Settings) -> GateResult:
    """The Integration Gate for the postmortem now."""
    indicators = settings.blame_indicator_set
    blame_count = sum(len(lint_blame(getattr(postmortem, name) or "", indicators)) for name in TEXT_FIELDS)
    findings: dict[uuid.UUID, tuple[Any, list[ActionItemFacts]]] = {}
    for (finding_id, decision, systemic, proposal, statement, item_id, owner, priority, due_date, status,
         ticket_state, jira_key) in await session.execute(_GATE_ROWS, {"postmortem_id": postmortem.id}):
        if finding_id not in findings:
            findings[finding_id] = ((decision, systemic, proposal), [])
            blame_count += len(lint_blame(statement, indicators))
        if item_id is not None:
            ticket = TicketFacts(ticket_state, jira_key) if ticket_state is not None else None
            findings[finding_id][1].append(ActionItemFacts(str(item_id), owner, priority, due_date, status, ticket))
    incident_ids = (await incident_ids_for(session, postmortem_ids=[postmortem.id])).get(postmortem.id, [])
    packets = await latest_packets(session, incident_ids=incident_ids)
    facts = PostmortemFacts(
        id=str(postmortem.id),
        findings=tuple(FindingFacts(str(finding_id), decision, systemic, proposal, tuple(items))
                       for finding_id, ((decision, systemic, proposal), items) in findings.items()),
        # One entry per incident, with status None when no packet exists yet (the gate's packet_incomplete).
        packets=tuple(
            PacketFacts(str(incident_id), packets[incident_id].status, packets[incident_id].similar_incident_ids)
            if incident_id in packets else PacketFacts(str(incident_id), None)
            for incident_id in incident_ids
        ),
        similar_incidents_reviewed=postmortem.similar_incidents_reviewed,
        blame_issue_count=blame_count,
    )
    return evaluate_postmortem(facts, blame_blocking=settings.blame_blocking)
