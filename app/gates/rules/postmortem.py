"""The Integration Gate (DESIGN §3): may this postmortem close?

One violation per offending entity, ordered by code (as in §3) then id.
`wont_do` action items are invisible to every rule. The ticket and
completeness rules apply to every remaining action item, whatever its finding's
decision; only `decision=ticket` findings must have a created or linked ticket.
A `failed` ticket is no ticket: its finding gets `finding_without_ticket`.
A finding whose only ticket is pending gets both `finding_without_ticket` and
`ticket_pending`: the first says what is missing, the second why.
"""

from __future__ import annotations

from collections.abc import Iterator

from .facts import ActionItemFacts, FindingFacts, PostmortemFacts
from .result import GateResult, Violation

TICKETED = frozenset({"created", "linked"})
IN_FLIGHT = frozenset({"pending", "creating"})
PACKET_READY = frozenset({"complete", "partial"})
_NO_TICKET_BECAUSE = {
    "pending": "its ticket is still being created",
    "creating": "its ticket is still being created",
    "missing": "its ticket is missing in Jira",
    "failed": "its ticket creation failed",
}


def evaluate_postmortem(facts: PostmortemFacts, *, blame_blocking: bool = False) -> GateResult:
    """Evaluate every rule; blame language warns unless `blame_blocking`."""
    violations = [*_finding_rules(facts), *_action_item_rules(facts), *_packet_rules(facts)]
    warnings: list[Violation] = []
    if facts.blame_issue_count > 0:
        blame = Violation(
            "blame_language",
            f"Postmortem {facts.id} has {facts.blame_issue_count} unresolved blame language issue(s).",
            (facts.id,),
        )
        (violations if blame_blocking else warnings).append(blame)
    return GateResult.of(violations, warnings)


def _live(finding: FindingFacts) -> tuple[ActionItemFacts, ...]:
    return tuple(item for item in finding.action_items if item.status != "wont_do")


def _has_ticket(item: ActionItemFacts) -> bool:
    return item.ticket is not None and item.ticket.state in TICKETED


def _ticket_gap(item: ActionItemFacts) -> str:
    if item.ticket is None:
        return "has no ticket"
    return _NO_TICKET_BECAUSE.get(item.ticket.state, f"its ticket is {item.ticket.state}")


def _why_no_ticket(items: tuple[ActionItemFacts, ...]) -> str:
    if not items:
        return "it has no action item (wont_do items do not count)"
    return "; ".join(f"action item {item.id}: {_ticket_gap(item)}" for item in items)


def _and(words: list[str]) -> str:
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _finding_rules(facts: PostmortemFacts) -> Iterator[Violation]:
    if not facts.findings:
        yield Violation("no_findings", f"Postmortem {facts.id} has no findings.", (facts.id,))
    for finding in facts.findings:
        items = _live(finding)
        if finding.decision == "ticket" and not any(_has_ticket(item) for item in items):
            yield Violation(
                "finding_without_ticket",
                f"Finding {finding.id} is decided as a ticket but has no action item with a created "
                f"or linked Jira ticket ({_why_no_ticket(items)}).",
                (finding.id,),
            )
        if finding.systemic and not (finding.proposal or "").strip():
            yield Violation(
                "systemic_finding_without_proposal",
                f"Systemic finding {finding.id} has no proposal.",
                (finding.id,),
            )


def _action_item_rules(facts: PostmortemFacts) -> Iterator[Violation]:
    for item in (item for finding in facts.findings for item in _live(finding)):
        state = item.ticket.state if item.ticket else None
        key = f" {item.ticket.jira_key}" if item.ticket and item.ticket.jira_key else ""
        if state == "missing":
            yield Violation(
                "ticket_missing",
                f"The Jira ticket{key} of action item {item.id} was deleted or cannot be found; "
                "link another key or create a new ticket.",
                (item.id,),
            )
        if state in IN_FLIGHT:
            yield Violation(
                "ticket_pending",
                f"The Jira ticket of action item {item.id} is still being created.",
                (item.id,),
            )
        fields = (("owner", item.owner), ("priority", item.priority), ("due date", item.due_date))
        lacking = [name for name, value in fields if value is None or str(value).strip() == ""]
        if lacking:
            yield Violation(
                "action_item_incomplete",
                f"Action item {item.id} lacks {_and(lacking)}.",
                (item.id,),
            )


def _packet_rules(facts: PostmortemFacts) -> Iterator[Violation]:
    for packet in facts.packets:
        if packet.status not in PACKET_READY:
            state = "has not been assembled yet" if packet.status is None else f"is {packet.status}"
            yield Violation(
                "packet_incomplete",
                f"The Event Packet of incident {packet.incident_id} {state} "
                "(it must be complete or partial).",
                (packet.incident_id,),
            )
    similar = tuple(sorted({i for packet in facts.packets for i in packet.similar_incident_ids}))
    if similar and not facts.similar_incidents_reviewed:
        yield Violation(
            "similar_incidents_not_reviewed",
            f"The similar past incidents listed in the packets ({', '.join(similar)}) have not been "
            "reviewed; set similar_incidents_reviewed once they have.",
            similar,
        )
