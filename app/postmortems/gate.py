"""The Integration Gate's view of a postmortem: `PostmortemFacts` built from the rows.

The rules themselves are pure (app/gates); this module only reads what they need:
findings, their action items, each incident's latest Event Packet, the
`similar_incidents_reviewed` flag and the blame-lint issue count.

Each action item carries its ticket (the Jira outbox row), or None when none was asked for.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """Read the postmortem's incidents, findings, tags and action items."""
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


async def evaluate(session: AsyncSession, *, record: PostmortemRecord,
                   settings: Settings) -> tuple[GateResult, list[LocatedIssue]]:
    """The Integration Gate for the postmortem now, and the blame issues it counted."""
    issues = blame_issues(record, indicators=settings.blame_indicator_set)
    packets = await latest_packets(session, incident_ids=record.incident_ids)
    facts = PostmortemFacts(
        id=str(record.postmortem.id),
        findings=tuple(_finding_facts(finding, record.action_items.get(finding.id, []), record.tickets)
                       for finding in record.findings),
        # One entry per incident, with status None when no packet exists yet (the gate's packet_incomplete).
        packets=tuple(
            PacketFacts(str(incident_id), packets[incident_id].status, packets[incident_id].similar_incident_ids)
            if incident_id in packets else PacketFacts(str(incident_id), None)
            for incident_id in record.incident_ids
        ),
        similar_incidents_reviewed=record.postmortem.similar_incidents_reviewed,
        blame_issue_count=len(issues),
    )
    return evaluate_postmortem(facts, blame_blocking=settings.blame_blocking), issues


def _finding_facts(finding: Finding, items: Sequence[ActionItem], tickets: dict[uuid.UUID, Ticket]) -> FindingFacts:
    return FindingFacts(id=str(finding.id), decision=finding.decision, systemic=finding.systemic,
                        proposal=finding.proposal,
                        action_items=tuple(_action_item_facts(item, tickets.get(item.id)) for item in items))


def _action_item_facts(item: ActionItem, ticket: Ticket | None) -> ActionItemFacts:
    return ActionItemFacts(id=str(item.id), owner=item.owner, priority=item.priority, due_date=item.due_date,
                           status=item.status,
                           ticket=TicketFacts(ticket.state, ticket.jira_key) if ticket is not None else None)
