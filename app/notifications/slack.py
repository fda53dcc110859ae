"""A readable Slack message for an event (`{"text": ...}` to an incoming-webhook URL)."""

from typing import Any

from app.models.notifications import EventType

HEADINGS: dict[str, str] = {
    EventType.incident_resolved: "Incident resolved",
    EventType.packet_assembled: "Event Packet ready",
    EventType.packet_sla_breached: "Event Packet late",
    EventType.postmortem_published: "Postmortem published",
    EventType.postmortem_closed: "Postmortem closed",
    EventType.gate_failed: "Integration Gate refused to close a postmortem",
    EventType.action_item_overdue: "Action item overdue",
    EventType.action_item_escalated: "Action item escalated",
    EventType.action_item_stale: "Action item stale",
    EventType.action_item_auto_closed: "Action item closed as won't do",
    EventType.pattern_detected: "Recurring pattern",
    EventType.recurrence_detected: "Incident recurred",
    EventType.digest_weekly: "Weekly learning digest",
    EventType.digest_monthly: "Monthly learning digest",
}


def text(payload: dict[str, Any]) -> str:
    """`*Heading*` and the event's one-line summary, then its detail lines (digests), if any."""
    data = payload.get("data") or {}
    lines = [f"*{HEADINGS.get(payload.get('type', ''), payload.get('type', 'Loopgate event'))}*"]
    if data.get("summary"):
        lines.append(str(data["summary"]))
    lines.extend(f"• {line}" for line in data.get("lines", ()))
    return "\n".join(lines)
