"""The facts the gates' pure rules decide on, read from the database.

The Integration Gate reads a postmortem's findings, their action items and tickets, each
incident's latest Event Packet, the `similar_incidents_reviewed` flag and the blame-lint
issue count. The deploy gate reads a service's action items and its incidents that need
a postmortem.
"""

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.settings import Settings
from app.gates.rules import (
    ActionItemFacts,
    FindingFacts,
    PacketFacts,
    PostmortemFacts,
    RequiredPostmortemFacts,
    ServiceActionItemFacts,
    TicketFacts,
)
from app.models.incidents import Incident, of_service
from app.models.postmortems import (
    ActionItem,
    Finding,
    Postmortem,
    PostmortemIncident,
    PostmortemStatus,
)
from app.models.tickets import Ticket
from app.packets.service import latest_packets
from app.postmortems.blame import Indicator, lint_blame
from app.postmortems.lint import prose_issues
from app.postmortems.reads import incident_ids_for

# The gate reads plain columns in one query: building ORM objects for every finding, action
# item and ticket cost more than the queries themselves (bench/gate.py).
_GATE_ROWS = (
    sa.select(col(Finding.id), col(Finding.decision), col(Finding.systemic), col(Finding.proposal),
              col(Finding.statement), col(ActionItem.id), col(ActionItem.owner), col(ActionItem.priority),
              col(ActionItem.due_date), col(ActionItem.status), col(Ticket.state), col(Ticket.jira_key))
    .outerjoin(ActionItem, col(ActionItem.finding_id) == col(Finding.id))
    .outerjoin(Ticket, col(Ticket.action_item_id) == col(ActionItem.id))
    .where(col(Finding.postmortem_id) == sa.bindparam("postmortem_id"))
    .order_by(col(Finding.created_at), col(Finding.id), col(ActionItem.created_at), col(ActionItem.id))
)


async def postmortem_facts(session: AsyncSession, *, postmortem: Postmortem,
                           indicators: tuple[Indicator, ...]) -> PostmortemFacts:
    """Everything the Integration Gate looks at for `postmortem`, as plain data."""
    blame_count = len(prose_issues(postmortem, indicators=indicators))
    findings: dict[uuid.UUID, tuple[tuple[str, bool, str | None], list[ActionItemFacts]]] = {}
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
    return PostmortemFacts(
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


def _rank(status: str | None) -> int:
    return PostmortemStatus(status).rank if status else -1


async def service_facts(session: AsyncSession, *, service: str, settings: Settings
                        ) -> tuple[list[ServiceActionItemFacts], list[RequiredPostmortemFacts]]:
    """A service's action items (any postmortem covering one of its incidents), and its resolved incidents
    whose severity requires a postmortem, each with the most advanced postmortem covering it."""
    postmortems_of_service = (sa.select(col(PostmortemIncident.postmortem_id))
                              .join(Incident, col(Incident.id) == col(PostmortemIncident.incident_id))
                              .where(of_service(service)))
    items = await session.execute(
        sa.select(col(ActionItem.id), col(ActionItem.priority), col(ActionItem.status), col(ActionItem.due_date))
        .join(Finding, col(Finding.id) == col(ActionItem.finding_id))
        .where(col(Finding.postmortem_id).in_(postmortems_of_service)))
    incidents = await session.execute(
        sa.select(col(Incident.id), col(Incident.resolved_at), col(Incident.severity), col(Postmortem.id),
                  col(Postmortem.status))
        .outerjoin(PostmortemIncident, col(PostmortemIncident.incident_id) == col(Incident.id))
        .outerjoin(Postmortem, col(Postmortem.id) == col(PostmortemIncident.postmortem_id))
        .where(of_service(service), col(Incident.resolved_at).is_not(None),
               col(Incident.merged_into_external_id).is_(None),
               col(Incident.severity).in_(settings.postmortem_required_severities)))
    required: dict[uuid.UUID, RequiredPostmortemFacts] = {}
    for incident_id, resolved_at, severity, postmortem_id, status in incidents:
        assert resolved_at is not None and severity is not None  # the WHERE requires both
        known = required.get(incident_id)
        if known is None or _rank(status) > _rank(known.postmortem_status):
            required[incident_id] = RequiredPostmortemFacts(
                str(incident_id), str(postmortem_id) if postmortem_id else None, status, resolved_at, severity)
    action_items = [ServiceActionItemFacts(str(i), priority, status, due) for i, priority, status, due in items]
    return action_items, list(required.values())
