"""The Event Packet's content, built from plain facts: a pure function, no I/O.

Inputs are what the webhooks told us (the incident's event history) and, when an
API token is configured, what the PagerDuty REST API returned. The webhook and the
log entries describe the same moments; a webhook event is dropped from the
timeline when a log entry of the same kind lies within `SAME_MOMENT` of it.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.incidents.fold import EventRecord, parse_time

SAME_MOMENT = timedelta(seconds=2)
DECISION_TYPES = {"escalated", "reassigned", "delegated", "priority_updated", "urgency_changed", "resolved",
                  "reopened", "incident_type.changed"}
LOG_TYPES = {
    "trigger": "triggered", "acknowledge": "acknowledged", "unacknowledge": "unacknowledged",
    "resolve": "resolved", "escalate": "escalated", "assign": "reassigned", "delegate": "delegated",
    "annotate": "annotated", "notify": "notified", "urgency_change": "urgency_changed",
    "priority_change": "priority_updated", "reopen": "reopened",
}


@dataclass(frozen=True)
class ApiFacts:
    """What the PagerDuty REST API returned; a list is None when it could not be read at all."""

    incident: Mapping[str, Any] | None = None
    log_entries: Sequence[Mapping[str, Any]] | None = None
    alerts: Sequence[Mapping[str, Any]] | None = None
    notes: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class PacketInputs:
    incident: Mapping[str, Any]  # the Incident row as plain data
    events: Sequence[EventRecord]
    statements: Sequence[Mapping[str, Any]] = ()
    similar_incidents: Sequence[Mapping[str, Any]] = ()
    api: ApiFacts = field(default_factory=ApiFacts)
    gaps: Sequence[Mapping[str, Any]] = ()


def _actor(ref: object) -> str | None:
    return ref.get("summary") or ref.get("name") if isinstance(ref, Mapping) else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _log_type(entry: Mapping[str, Any]) -> str:
    raw = str(entry.get("type", "")).removesuffix("_reference").removesuffix("_log_entry")
    return LOG_TYPES.get(raw, raw)


def _webhook_summary(event: EventRecord) -> str:
    data = event.data
    kind = event.event_type.removeprefix("incident.")
    if kind == "annotated":
        return str(data.get("content", ""))
    if kind == "status_update_published":
        return str(data.get("message", ""))
    if kind.startswith("responder."):
        return f"{_actor(data.get('user')) or 'someone'} {kind.split('.')[-1]} as responder"
    if kind == "priority_updated":
        return f"priority set to {_actor(data.get('priority')) or 'none'}"
    return f"{kind} — {data.get('title') or _actor(data.get('incident')) or ''}".strip(" —")


def timeline(events: Iterable[EventRecord], api: ApiFacts) -> list[dict[str, Any]]:
    """Log entries, webhook events and notes, ordered, each moment once."""
    items: list[dict[str, Any]] = []
    logged: dict[str, list[datetime]] = {}
    for entry in api.log_entries or ():
        at = parse_time(entry.get("created_at"))
        if at is None:
            continue
        kind = _log_type(entry)
        logged.setdefault(kind, []).append(at)
        items.append({"at": at, "type": kind, "summary": entry.get("summary") or kind,
                      "actor": _actor(entry.get("agent")), "source": "log_entry", "id": entry.get("id"),
                      "channel": (entry.get("channel") or {}).get("type")})

    def already_logged(kind: str, at: datetime) -> bool:
        return any(abs(at - seen) <= SAME_MOMENT for seen in logged.get(kind, ()))

    for event in events:
        kind = event.event_type.removeprefix("incident.")
        if not already_logged(kind, event.occurred_at):
            items.append({"at": event.occurred_at, "type": kind, "summary": _webhook_summary(event),
                          "actor": _actor(event.agent), "source": "webhook", "id": event.event_id, "channel": None})
    for note in api.notes or ():
        at = parse_time(note.get("created_at"))
        if at is not None and not already_logged("annotated", at):
            logged.setdefault("annotated", []).append(at)
            items.append({"at": at, "type": "annotated", "summary": note.get("content", ""),
                          "actor": _actor(note.get("user")), "source": "note", "id": note.get("id"), "channel": None})
    items.sort(key=lambda item: (item["at"], item["source"], str(item["id"])))
    return [{**item, "at": item["at"].isoformat()} for item in items]


def notes(events: Iterable[EventRecord], api: ApiFacts) -> list[dict[str, Any]]:
    """Every note once: the API's notes and the webhook's `incident.annotated`, by note id."""
    found: dict[str, dict[str, Any]] = {}
    for note in api.notes or ():
        found[str(note.get("id"))] = {"id": note.get("id"), "at": note.get("created_at"),
                                      "author": _actor(note.get("user")), "content": note.get("content", "")}
    for event in events:
        if event.event_type == "incident.annotated":
            note_id = str(event.data.get("id") or event.event_id)
            found.setdefault(note_id, {"id": note_id, "at": _iso(event.occurred_at), "author": _actor(event.agent),
                                       "content": str(event.data.get("content", ""))})
    return sorted(found.values(), key=lambda n: (parse_time(n["at"]) or datetime.min.replace(tzinfo=UTC), n["id"]))


def responders(events: Iterable[EventRecord], api: ApiFacts) -> list[dict[str, Any]]:
    """Who acknowledged, was assigned, notified, added notes or joined as a responder."""
    people: dict[str, dict[str, Any]] = {}

    def add(ref: object, role: str) -> None:
        if not isinstance(ref, Mapping) or not str(ref.get("type", "")).startswith("user"):
            return
        person = people.setdefault(str(ref.get("id")), {"id": ref.get("id"), "name": _actor(ref), "roles": set()})
        person["roles"].add(role)

    roles = {"acknowledged": "acknowledged", "annotated": "noted", "reassigned": "assigned", "delegated": "assigned"}
    for entry in api.log_entries or ():
        kind = _log_type(entry)
        if kind in roles:
            add(entry.get("agent"), roles[kind])
        if kind == "notified":
            add(entry.get("user"), "notified")
        for assignee in entry.get("assignees") or ():
            add(assignee, "assigned")
    for event in events:
        kind = event.event_type.removeprefix("incident.")
        if kind in ("acknowledged", "annotated"):
            add(event.agent, roles[kind])
        elif kind.startswith("responder."):
            add(event.data.get("user"), "responder")
        for assignee in event.data.get("assignees") or ():
            add(assignee, "assigned")
    for key in ("assignments", "acknowledgements"):
        for item in (api.incident or {}).get(key) or ():
            add(item.get("assignee") or item.get("acknowledger"),
                "assigned" if key == "assignments" else "acknowledged")
    for note in api.notes or ():
        add(note.get("user"), "noted")
    return sorted(({**p, "roles": sorted(p["roles"])} for p in people.values()), key=lambda p: str(p["name"]))


def alerts(api: ApiFacts) -> list[dict[str, Any]]:
    return [{"id": a.get("id"), "created_at": a.get("created_at"), "status": a.get("status"),
             "summary": a.get("summary"), "severity": a.get("severity"), "alert_key": a.get("alert_key"),
             "service": _actor(a.get("service"))} for a in api.alerts or ()]


def impact(inputs: PacketInputs) -> dict[str, Any]:
    incident = inputs.incident
    triggered, resolved = incident.get("triggered_at"), incident.get("resolved_at")
    statements = [{"author": _actor(e.agent), "text": e.data.get("message", ""), "at": _iso(e.occurred_at),
                   "source": "status_update"}
                  for e in sorted(inputs.events, key=lambda e: e.occurred_at)
                  if e.event_type == "incident.status_update_published"]
    statements += [{**s, "source": "statement"} for s in inputs.statements]
    return {
        "severity": incident.get("severity"),
        "duration_seconds": (resolved - triggered).total_seconds() if triggered and resolved else None,
        "services": [{"id": incident.get("service_id"), "name": incident.get("service_name")}]
        if incident.get("service_id") else [],
        "teams": list(incident.get("teams") or []),
        "statements": statements,
    }


def build_content(inputs: PacketInputs) -> dict[str, Any]:
    """The packet body of DESIGN §4 (without the version metadata)."""
    events = sorted(inputs.events, key=lambda e: (e.occurred_at, e.event_id))
    line = timeline(events, inputs.api)
    return {
        "timeline": line,
        "alerts": alerts(inputs.api),
        "notes": notes(events, inputs.api),
        "responders": responders(events, inputs.api),
        "decision_points": [item for item in line if item["type"] in DECISION_TYPES],
        "impact": impact(inputs),
        "similar_incidents": list(inputs.similar_incidents),
        "gaps": list(inputs.gaps),
    }
