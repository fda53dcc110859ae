"""The one place that maps PagerDuty events to an incident: a pure fold in `occurred_at` order.

Folding the whole history on every event makes arrival order irrelevant: a late,
older event never overwrites newer state, yet its facts (an acknowledgement
time, a reopen) still count.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.clock import parse_timestamp


@dataclass(frozen=True)
class EventRecord:
    event_id: str
    event_type: str
    occurred_at: datetime
    agent: Mapping[str, Any] | None
    data: Mapping[str, Any]


@dataclass
class IncidentState:
    external_id: str | None = None
    number: int | None = None
    title: str = ""
    service_id: str | None = None
    service_name: str | None = None
    teams: list[dict[str, Any]] = field(default_factory=list)
    assignees: list[dict[str, Any]] = field(default_factory=list)
    urgency: str | None = None
    priority: str | None = None
    severity: str | None = None
    status: str = "triggered"
    triggered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    reopened_count: int = 0
    incident_key: str | None = None
    fingerprint: str | None = None
    merged_into_external_id: str | None = None
    reported_by: str | None = None
    html_url: str | None = None
    last_event_at: datetime | None = None


def parse_time(value: object) -> datetime | None:
    """PagerDuty's ISO 8601 timestamps ('2021-04-26T17:36:27.458Z'); None when absent or unreadable."""
    return parse_timestamp(value)


def incident_reference(data: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The incident an event is about: the data itself for incident events, else `data.incident`."""
    if not isinstance(data, Mapping):
        return None
    if data.get("type") == "incident":
        return data
    ref = data.get("incident")
    return ref if isinstance(ref, Mapping) and ref.get("id") else None


def normalise(text: str) -> str:
    """Lower case, each run of digits → '#', whitespace folded."""
    return " ".join(re.sub(r"\d+", "#", text.lower()).split())


def fingerprint(service_id: str | None, incident_key: str | None, title: str) -> str:
    return f"{service_id or ''}:{normalise(incident_key or title)}"


def severity_of(priority: str | None, urgency: str | None, *, by_priority: Mapping[str, str],
                by_urgency: Mapping[str, str]) -> str | None:
    if priority and priority in by_priority:
        return by_priority[priority]
    return by_urgency.get(urgency or "")


def _name(ref: object) -> str | None:
    return ref.get("summary") or ref.get("name") if isinstance(ref, Mapping) else None


def _refs(items: object) -> list[dict[str, Any]]:
    refs = items if isinstance(items, list) else []
    return [{"id": r.get("id"), "name": _name(r)} for r in refs if isinstance(r, Mapping) and r.get("id")]


def _apply_snapshot(state: IncidentState, data: Mapping[str, Any], occurred_at: datetime) -> None:
    state.number = data.get("number", state.number)
    state.title = data.get("title") or state.title
    service = data.get("service")
    if isinstance(service, Mapping) and service.get("id"):
        state.service_id, state.service_name = service["id"], _name(service)
    state.teams = _refs(data.get("teams")) if "teams" in data else state.teams
    state.assignees = _refs(data.get("assignees")) if "assignees" in data else state.assignees
    state.urgency = data.get("urgency") or state.urgency
    if "priority" in data:
        state.priority = _name(data["priority"])
    state.status = data.get("status") or state.status
    state.incident_key = data.get("incident_key") or state.incident_key
    state.html_url = data.get("html_url") or state.html_url
    state.triggered_at = parse_time(data.get("created_at")) or state.triggered_at
    if state.status == "resolved" and state.resolved_at is None:
        state.resolved_at = occurred_at


def fold(events: Iterable[EventRecord], *, by_priority: Mapping[str, str] | None = None,
         by_urgency: Mapping[str, str] | None = None) -> IncidentState:
    """The incident state after every event, applied oldest first (ties broken by event id)."""
    state = IncidentState()
    first_seen: datetime | None = None
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        data = event.data
        ref = incident_reference(data) or {}
        state.external_id = ref.get("id") or state.external_id
        first_seen = first_seen or event.occurred_at
        if data.get("type") == "incident":
            _apply_snapshot(state, data, event.occurred_at)
        else:
            state.title = state.title or _name(ref) or ""
            state.html_url = state.html_url or ref.get("html_url")
        kind = event.event_type.removeprefix("incident.")
        if kind == "triggered":
            state.triggered_at = state.triggered_at or event.occurred_at
            agent_type = (event.agent or {}).get("type")
            state.reported_by = "human" if agent_type == "user_reference" else "automation"
        elif kind == "acknowledged":
            state.acknowledged_at = min(filter(None, (state.acknowledged_at, event.occurred_at)))
        elif kind == "resolved":
            state.resolved_at = event.occurred_at
            resolve_reason = data.get("resolve_reason")
            reason: Mapping[str, Any] = resolve_reason if isinstance(resolve_reason, Mapping) else {}
            merged = reason.get("incident") if reason.get("type") == "merge_resolve_reason" else None
            state.merged_into_external_id = merged.get("id") if isinstance(merged, Mapping) else None
        elif kind == "reopened":
            state.reopened_count += 1
            state.resolved_at = state.merged_into_external_id = None
        state.last_event_at = event.occurred_at
    if state.status != "resolved":
        state.resolved_at = None
    state.triggered_at = state.triggered_at or first_seen
    state.severity = severity_of(state.priority, state.urgency, by_priority=by_priority or {},
                                 by_urgency=by_urgency or {})
    state.fingerprint = fingerprint(state.service_id, state.incident_key, state.title)
    return state
