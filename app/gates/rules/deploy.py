"""The service deploy gate (DESIGN §3): may service X deploy?

It fails on an overdue P1 action item (open, in_progress or blocked, due before
`today`; due today is not overdue) and on a required postmortem still not
published or closed more than `postmortem_due_days` after its incident resolved.
The caller passes only the incidents whose severity requires a postmortem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from .facts import RequiredPostmortemFacts, ServiceActionItemFacts
from .result import GateResult, Violation

OPEN_STATUSES = frozenset({"open", "in_progress", "blocked"})
POSTMORTEM_DONE = frozenset({"published", "closed"})


def evaluate_service(
    *,
    service: str,
    action_items: Sequence[ServiceActionItemFacts],
    required_postmortems: Sequence[RequiredPostmortemFacts],
    today: date,
    now: datetime,
    postmortem_due_days: int,
) -> GateResult:
    """Evaluate the deploy gate of `service`; it has no warnings."""
    return GateResult.of([
        *_overdue_p1_items(service, action_items, today),
        *_overdue_postmortems(service, required_postmortems, now, postmortem_due_days),
    ])


def _overdue_p1_items(
    service: str, action_items: Sequence[ServiceActionItemFacts], today: date
) -> Iterator[Violation]:
    for item in action_items:
        if item.priority == "P1" and item.status in OPEN_STATUSES and item.due_date and item.due_date < today:
            days = (today - item.due_date).days
            yield Violation(
                "overdue_p1_action_item",
                f"P1 action item {item.id} of service {service} was due on {item.due_date.isoformat()} "
                f"and is still {item.status} ({days} day(s) overdue).",
                (item.id,),
            )


def _overdue_postmortems(
    service: str, required: Sequence[RequiredPostmortemFacts], now: datetime, due_days: int
) -> Iterator[Violation]:
    for incident in required:
        due_at = incident.resolved_at + timedelta(days=due_days)
        if incident.postmortem_status not in POSTMORTEM_DONE and now > due_at:
            state = (
                "has no postmortem" if incident.postmortem_id is None
                else f"has postmortem {incident.postmortem_id} still {incident.postmortem_status}"
            )
            yield Violation(
                "postmortem_overdue",
                f"Incident {incident.incident_id} ({incident.severity}) of service {service} {state}; "
                f"it had to be published by {due_at.isoformat()} ({due_days} day(s) after resolution).",
                (incident.incident_id,),
            )
