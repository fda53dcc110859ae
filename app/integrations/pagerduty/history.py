"""A historical incident from the REST API, as the v3 webhook events PagerDuty would have sent for it.

A backfill goes through the webhook apply path (inbox → fold), so each log entry that
changes an incident becomes the event of the same name: its `occurred_at` is the log
entry's `created_at`, its data an incident snapshot with the status after that entry.
Folded in order, they give the incident the webhooks would have given. Each event's id
derives from its log entry's id, so importing the same history twice stores it once.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.clock import parse_timestamp

# The log entry types that the incident's webhooks would have announced, and the status after each
# (None: the status does not change).
EVENTS = {
    "trigger_log_entry": ("incident.triggered", "triggered"),
    "acknowledge_log_entry": ("incident.acknowledged", "acknowledged"),
    "unacknowledge_log_entry": ("incident.unacknowledged", "triggered"),
    "resolve_log_entry": ("incident.resolved", "resolved"),
    "assign_log_entry": ("incident.reassigned", None),
    "delegate_log_entry": ("incident.delegated", None),
    "escalate_log_entry": ("incident.escalated", None),
    "annotate_log_entry": ("incident.annotated", None),
}
PREFIX = "pd-log-entry:"


@dataclass(frozen=True)
class HistoricalEvent:
    external_id: str
    event_type: str
    occurred_at: datetime
    body: bytes  # a v3 webhook envelope, JSON


def event_id(log_entry_id: str) -> str:
    """The inbox id of the event made from a log entry (PagerDuty's own event ids are ULIDs: no clash)."""
    return PREFIX + log_entry_id


def _snapshot(incident: Mapping[str, Any], status: str, assignees: list[Any]) -> dict[str, Any]:
    """The incident as a v3 webhook's `data` shows it (REST `incident_number` is the webhook's `number`)."""
    return {
        "id": incident["id"], "type": "incident", "self": incident.get("self"), "html_url": incident.get("html_url"),
        "number": incident.get("incident_number"), "status": status, "title": incident.get("title"),
        "created_at": incident.get("created_at"), "service": incident.get("service"), "assignees": assignees,
        "escalation_policy": incident.get("escalation_policy"), "teams": incident.get("teams") or [],
        "priority": incident.get("priority"), "urgency": incident.get("urgency"),
        "incident_key": incident.get("incident_key"), "conference_bridge": incident.get("conference_bridge"),
        "resolve_reason": None,
    }


def _note(incident: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    channel = entry.get("channel") if isinstance(entry.get("channel"), Mapping) else {}
    return {"incident": {"id": incident["id"], "type": "incident_reference", "html_url": incident.get("html_url")},
            "id": entry.get("id"), "type": "incident_note", "content": (channel or {}).get("summary") or "",
            "trimmed": False}


def _envelope(external_id: str, event_type: str, at: str, agent: object, data: dict[str, Any]) -> bytes:
    return json.dumps({"event": {"id": external_id, "event_type": event_type, "resource_type": "incident",
                                 "occurred_at": at, "agent": agent if isinstance(agent, Mapping) else None,
                                 "client": None, "data": data}}).encode()


def incident_events(incident: Mapping[str, Any], log_entries: Sequence[Mapping[str, Any]]) -> list[HistoricalEvent]:
    """The incident's webhook events, oldest first, from its REST representation and log entries.

    Where the log lacks an entry the current state implies (a trigger, the last resolve or
    acknowledgement), the event is made from the incident's own timestamps instead.
    """
    entries = sorted((e for e in log_entries if e.get("type") in EVENTS and parse_timestamp(e.get("created_at"))),
                     key=lambda e: (parse_timestamp(e["created_at"]), str(e.get("id"))))
    current = str(incident.get("status") or "triggered")
    if not any(e["type"] == "trigger_log_entry" for e in entries) and parse_timestamp(incident.get("created_at")):
        first = incident.get("first_trigger_log_entry") or {}
        entries.insert(0, {"id": first.get("id") or f"{incident['id']}:triggered", "type": "trigger_log_entry",
                           "created_at": incident["created_at"], "agent": None})
    wanted = {"resolved": "resolve_log_entry", "acknowledged": "acknowledge_log_entry"}.get(current)
    status_at = incident.get("resolved_at") or incident.get("last_status_change_at")
    if wanted and not any(e["type"] == wanted for e in entries) and parse_timestamp(status_at):
        entries.append({"id": f"{incident['id']}:{current}:{status_at}", "type": wanted, "created_at": status_at,
                        "agent": incident.get("last_status_change_by")})
        entries.sort(key=lambda e: (parse_timestamp(e["created_at"]), str(e.get("id"))))
    last_resolve = max((i for i, e in enumerate(entries) if e["type"] == "resolve_log_entry"), default=None)
    assignments = incident.get("assignments") or []
    assignees: list[Any] = [a["assignee"] for a in assignments if isinstance(a, Mapping) and a.get("assignee")]
    status = "triggered"
    events = []
    for index, entry in enumerate(entries):
        event_type, after = EVENTS[entry["type"]]
        status = after or status
        if isinstance(entry.get("assignees"), list):
            assignees = entry["assignees"]
        external_id = event_id(str(entry["id"]))
        if entry["type"] == "annotate_log_entry":
            data = _note(incident, entry)
        else:
            data = _snapshot(incident, status, [] if status == "resolved" else assignees)
            if index == last_resolve:
                data["resolve_reason"] = incident.get("resolve_reason")
        at = parse_timestamp(entry["created_at"])
        assert at is not None  # filtered above
        events.append(HistoricalEvent(external_id, event_type, at,
                                      _envelope(external_id, event_type, entry["created_at"], entry.get("agent"),
                                                data)))
    return events
