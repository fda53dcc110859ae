"""A readable Slack message for an event (`{"text": ...}` to an incoming-webhook URL)."""

from typing import Any

HEADINGS = {
    "incident.resolved": "Incident resolved",
    "packet.assembled": "Event Packet ready",
    "packet.sla_breached": "Event Packet late",
    "postmortem.published": "Postmortem published",
    "postmortem.closed": "Postmortem closed",
    "gate.failed": "Integration Gate refused to close a postmortem",
    "action_item.overdue": "Action item overdue",
    "action_item.escalated": "Action item escalated",
    "action_item.stale": "Action item stale",
    "action_item.auto_closed": "Action item closed as won't do",
    "pattern.detected": "Recurring pattern",
    "recurrence.detected": "Incident recurred",
    "digest.weekly": "Weekly learning digest",
    "digest.monthly": "Monthly learning digest",
}


def text(payload: dict[str, Any]) -> str:
    """`*Heading*` and the event's one-line summary, then its detail lines (digests), if any."""
    data = payload.get("data") or {}
    lines = [f"*{HEADINGS.get(payload.get('type', ''), payload.get('type', 'Loopgate event'))}*"]
    if data.get("summary"):
        lines.append(str(data["summary"]))
    lines.extend(f"• {line}" for line in data.get("lines", ()))
    return "\n".join(lines)
