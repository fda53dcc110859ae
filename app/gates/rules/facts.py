"""Plain input data for the gates: what the caller read from the database.

Every value is a plain string, date or tuple, so the rules in this package can be
evaluated (and tested) without a database. The rules are fail-closed: a state or
status they do not recognise never counts as "done", so an unexpected value can
block a gate but never let one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class TicketFacts:
    """The Jira ticket of one action item.

    `state` is the outbox state: pending, creating, created, linked, missing or
    failed. Only created and linked count as a ticket that exists.
    """

    state: str
    jira_key: str | None = None


@dataclass(frozen=True)
class ActionItemFacts:
    """One action item. `status` is open, in_progress, blocked, completed or
    wont_do; `wont_do` items are ignored by every rule. `ticket` is None when no
    ticket was ever requested or linked."""

    id: str
    owner: str | None
    priority: str | None
    due_date: date | None
    status: str
    ticket: TicketFacts | None = None


@dataclass(frozen=True)
class FindingFacts:
    """One finding. `decision` is ticket, knowledge_base or rejected; only
    `ticket` findings need a ticket. A `systemic` finding needs a `proposal`."""

    id: str
    decision: str
    systemic: bool = False
    proposal: str | None = None
    action_items: tuple[ActionItemFacts, ...] = ()


@dataclass(frozen=True)
class PacketFacts:
    """The latest Event Packet of one incident of the postmortem.

    `status` is None when no packet exists yet. The caller passes one
    PacketFacts per incident of the postmortem. `similar_incident_ids` are the
    past incidents the packet lists as similar.
    """

    incident_id: str
    status: str | None
    similar_incident_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostmortemFacts:
    """Everything the Integration Gate looks at for one postmortem.

    `blame_issue_count` is the number of unresolved blame-lint issues in the
    postmortem's text (the lint itself lives in app/postmortems).
    """

    id: str
    findings: tuple[FindingFacts, ...]
    packets: tuple[PacketFacts, ...]
    similar_incidents_reviewed: bool = False
    blame_issue_count: int = 0


@dataclass(frozen=True)
class ServiceActionItemFacts:
    """An action item attributed to the service being deployed (any postmortem).
    `priority` is P1, P2 or P3; `status` as on ActionItemFacts."""

    id: str
    priority: str | None
    status: str
    due_date: date | None


@dataclass(frozen=True)
class RequiredPostmortemFacts:
    """A resolved incident of the service whose severity requires a postmortem.

    The caller decides which severities are required
    (LOOPGATE_POSTMORTEM_REQUIRED_SEVERITIES) and passes only those incidents;
    `severity` is carried for the message. `postmortem_id`/`postmortem_status`
    describe the most advanced postmortem covering the incident, or are None
    when there is none. `resolved_at` is timezone-aware UTC.
    """

    incident_id: str
    postmortem_id: str | None
    postmortem_status: str | None
    resolved_at: datetime
    severity: str
