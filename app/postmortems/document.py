"""The postmortem as one document (seed 001's template), structured: what `?format=json` answers and
what the Markdown rendering (app/postmortems/markdown.py) writes out.

Pure: the postmortem's detail (as the API shows it), its incidents and their newest assembled Event
Packets in; the document out. Nothing here reads the clock, so the same data always gives the same
document.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models.incidents import Incident
from app.models.packets import EventPacket
from app.models.postmortems import ActionItemStatus, PostmortemStatus, Priority
from app.postmortems.analysis import BARRIER_STATES, CATEGORIES
from app.postmortems.schemas import Category, PostmortemDetail

Day = date  # a field named `date` shadows the type inside its class

NOTICES = {
    PostmortemStatus.draft: "This postmortem is a draft: its content is still being written and may change.",
    PostmortemStatus.in_review: "This postmortem is in review: its content may still change.",
}


class PacketReference(BaseModel):
    version: int
    status: str
    assembled_at: datetime | None
    sha256: str | None


class DocumentIncident(BaseModel):
    id: uuid.UUID
    external_id: str = Field(description="the PagerDuty incident id")
    number: int | None
    title: str
    url: str | None = Field(description="the incident in PagerDuty")
    service: str | None
    severity: str | None
    triggered_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    duration_seconds: float | None
    packet: PacketReference | None = Field(description="the Event Packet version this document was written from")


class ImpactStatement(BaseModel):
    incident: str = Field(description="PagerDuty incident id")
    author: str | None
    text: str
    at: str | None


class IncidentSummary(BaseModel):
    date: Day | None = Field(description="the UTC day the first incident triggered")
    duration_seconds: float | None = Field(description="first trigger to last resolve")
    severity: list[str] = Field(description="the incidents' severities, each once")
    services: list[str]
    teams: list[str]
    impact: list[ImpactStatement]
    days_after_incident: int | None = Field(description="days from the last resolve to the postmortem's creation")


class TimelineEntry(BaseModel):
    at: str
    incident: str = Field(description="PagerDuty incident id")
    type: str
    summary: str
    actor: str | None


class GraphNode(BaseModel):
    id: str
    label: str


class Barrier(GraphNode):
    state: str


class DocumentFinding(BaseModel):
    id: uuid.UUID
    statement: str
    tags: list[str]
    impact: str
    effort: str
    decision: str
    owner: str | None
    systemic: bool
    proposal: str | None


class FactorGroup(BaseModel):
    category: Category
    factors: list[GraphNode] = Field(description="factor nodes of the analysis graph in this category")
    findings: list[DocumentFinding]


class DocumentActionItem(BaseModel):
    id: uuid.UUID
    finding_id: uuid.UUID
    title: str
    priority: Priority
    owner: str
    due_date: date
    status: ActionItemStatus
    overdue: bool
    durability: str
    jira_key: str | None
    jira_url: str | None
    ticket_state: str | None


class GateLine(BaseModel):
    code: str
    message: str


class DocumentGate(BaseModel):
    passed: bool
    violations: list[GateLine]
    warnings: list[GateLine]


class PostmortemDocument(BaseModel):
    id: uuid.UUID
    url: str = Field(description="the postmortem in Loopgate's API")
    title: str
    status: PostmortemStatus
    notice: str | None = Field(description="says when the postmortem is a draft or in review")
    framework: str
    facilitator: str | None
    participants: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    summary: IncidentSummary
    executive_summary: str | None
    timeline: list[TimelineEntry]
    impacts: list[GraphNode] = Field(description="impact nodes of the analysis graph")
    contributing_factors: list[FactorGroup]
    barriers: list[Barrier]
    what_went_well: str | None
    what_could_improve: str | None
    action_items: list[DocumentActionItem]
    lessons: str | None
    incidents: list[DocumentIncident] = Field(description="references: PagerDuty incidents and packet versions")
    gate: DocumentGate


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _incident(incident: Incident, packet: EventPacket | None) -> DocumentIncident:
    reference = None if packet is None else PacketReference(
        version=packet.version, status=packet.status, assembled_at=packet.assembled_at, sha256=packet.sha256)
    return DocumentIncident(
        id=incident.id, external_id=incident.external_id, number=incident.number, title=incident.title,
        url=incident.html_url, service=incident.service_name or incident.service_id, severity=incident.severity,
        triggered_at=incident.triggered_at, acknowledged_at=incident.acknowledged_at,
        resolved_at=incident.resolved_at, duration_seconds=_duration(incident.triggered_at, incident.resolved_at),
        packet=reference)


def _once(values: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _statements(incident: Incident, packet: EventPacket | None) -> list[ImpactStatement]:
    impact = (packet.content or {}).get("impact") or {} if packet else {}
    return [ImpactStatement(incident=incident.external_id, author=s.get("author"), text=str(s.get("text") or ""),
                            at=s.get("at")) for s in impact.get("statements") or []]


def _summary(detail: PostmortemDetail, incidents: Sequence[Incident],
             packets: Mapping[uuid.UUID, EventPacket]) -> IncidentSummary:
    triggers = [i.triggered_at for i in incidents if i.triggered_at]
    resolves = [i.resolved_at for i in incidents if i.resolved_at]
    first = min(triggers) if triggers else None
    last = max(resolves) if resolves and len(resolves) == len(incidents) else None  # all resolved, or no end
    return IncidentSummary(
        date=first.date() if first else None, duration_seconds=_duration(first, last),
        severity=_once([i.severity for i in incidents]),
        services=_once([i.service_name or i.service_id for i in incidents]),
        teams=_once([team.get("name") or team.get("id") for i in incidents for team in i.teams or []]),
        impact=[s for i in incidents for s in _statements(i, packets.get(i.id))],
        days_after_incident=(detail.created_at - last).days if last and detail.created_at >= last else None)


def _timeline(incidents: Sequence[Incident], packets: Mapping[uuid.UUID, EventPacket]) -> list[TimelineEntry]:
    entries = []
    for position, incident in enumerate(incidents):
        packet = packets.get(incident.id)
        for index, item in enumerate(((packet.content or {}).get("timeline") or []) if packet else []):
            entry = TimelineEntry(at=str(item.get("at")), incident=incident.external_id,
                                  type=str(item.get("type") or ""), summary=str(item.get("summary") or ""),
                                  actor=item.get("actor"))
            entries.append((_instant(entry.at), position, index, entry))
    return [entry for *_, entry in sorted(entries, key=lambda row: row[:3])]


def _instant(at: str) -> float:
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return float("inf")  # an unreadable time goes last, in the packet's order


def _graph(analysis: Mapping[str, Any] | None) -> tuple[list[GraphNode], dict[str, list[GraphNode]], list[Barrier]]:
    nodes = (analysis or {}).get("nodes") or []
    impacts = [GraphNode(id=n["id"], label=n["label"]) for n in nodes if n["kind"] == "impact"]
    factors = {category: [GraphNode(id=n["id"], label=n["label"]) for n in nodes
                          if n["kind"] == "factor" and n.get("category") == category] for category in CATEGORIES}
    states = {state: rank for rank, state in enumerate(BARRIER_STATES)}
    barriers = [Barrier(id=n["id"], label=n["label"], state=str(n.get("barrier_state")))
                for n in nodes if n["kind"] == "barrier"]
    return impacts, factors, sorted(barriers, key=lambda b: states.get(b.state, len(states)))


def build_document(detail: PostmortemDetail, *, incidents: Sequence[Incident],
                   packets: Mapping[uuid.UUID, EventPacket], url: str) -> PostmortemDocument:
    """The whole postmortem as one document; `packets` holds each incident's newest assembled packet."""
    analysis = detail.analysis.model_dump(by_alias=True) if detail.analysis else None
    impacts, factors, barriers = _graph(analysis)
    findings = {category: [DocumentFinding(**f.model_dump(include=set(DocumentFinding.model_fields)))
                           for f in detail.findings if f.category == category] for category in CATEGORIES}
    groups = [FactorGroup(category=category, factors=factors[category], findings=findings[category])
              for category in CATEGORIES if factors[category] or findings[category]]
    items = [DocumentActionItem(
        id=item.id, finding_id=item.finding_id, title=item.title, priority=item.priority, owner=item.owner,
        due_date=item.due_date, status=item.status, overdue=item.overdue, durability=item.durability,
        jira_key=item.ticket.jira_key if item.ticket else None, jira_url=item.ticket.url if item.ticket else None,
        ticket_state=item.ticket.state if item.ticket else None,
    ) for finding in detail.findings for item in finding.action_items]
    items.sort(key=lambda i: (list(Priority).index(i.priority), i.due_date, i.title, str(i.id)))
    gate = DocumentGate(passed=detail.gate.passed,
                        violations=[GateLine(code=v.code, message=v.message) for v in detail.gate.violations],
                        warnings=[GateLine(code=w.code, message=w.message) for w in detail.gate.warnings])
    return PostmortemDocument(
        id=detail.id, url=url, title=detail.title, status=detail.status, notice=NOTICES.get(detail.status),
        framework=detail.framework, facilitator=detail.facilitator,
        participants=[{"name": p.name, "role": p.role} for p in detail.participants],
        created_at=detail.created_at, updated_at=detail.updated_at, published_at=detail.published_at,
        closed_at=detail.closed_at, summary=_summary(detail, incidents, packets),
        executive_summary=detail.summary, timeline=_timeline(incidents, packets), impacts=impacts,
        contributing_factors=groups, barriers=barriers, what_went_well=detail.what_went_well,
        what_could_improve=detail.what_could_improve, action_items=items, lessons=detail.lessons,
        incidents=[_incident(incident, packets.get(incident.id)) for incident in incidents], gate=gate,
    )
