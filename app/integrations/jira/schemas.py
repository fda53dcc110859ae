"""What Loopgate reads from a Jira webhook delivery and from a Jira issue."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.vendors import IssueState


class DeliveryError(ValueError):
    """The body is not JSON or not a JSON object."""


@dataclass(frozen=True)
class JiraDelivery:
    delivery_id: str
    event_type: str
    occurred_at: datetime | None
    payload: dict[str, Any]


def parse_delivery(body: bytes, identifier: str | None) -> JiraDelivery:
    """A delivery keyed on `X-Atlassian-Webhook-Identifier`, else on the sha256 of its body."""
    try:
        payload = json.loads(body.decode("utf-8"))  # UTF-8 only: the body is stored as this text
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeliveryError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise DeliveryError("A Jira webhook body must be a JSON object.")
    timestamp = payload.get("timestamp")
    occurred_at = (datetime.fromtimestamp(timestamp / 1000, UTC)
                   if isinstance(timestamp, int | float) and not isinstance(timestamp, bool) else None)
    if identifier is not None and len(identifier) > 200:
        raise DeliveryError("X-Atlassian-Webhook-Identifier is longer than 200 characters.")
    return JiraDelivery(
        delivery_id=identifier or "sha256:" + hashlib.sha256(body).hexdigest(),
        event_type=str(payload.get("webhookEvent") or "unknown")[:100],
        occurred_at=occurred_at,
        payload=payload,
    )


def parse_jira_time(value: object) -> datetime | None:
    """Jira's '2025-06-12T14:03:27.533+0000'."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-2] + ":" + value[-2:] if len(value) > 5 and value[-5] in "+-" and value[-3] != ":" else value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def issue_state(issue: object) -> IssueState | None:
    """The state of an issue as a webhook or the REST API gives it; None without an id or key."""
    if not isinstance(issue, dict) or not (issue.get("id") or issue.get("key")):
        return None
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key")
    resolution = fields.get("resolution") or {}
    return IssueState(
        issue_id=str(issue.get("id") or ""), key=str(issue.get("key") or ""), status_category=category,
        resolution=resolution.get("name") if isinstance(resolution, dict) else None,
        updated=parse_jira_time(fields.get("updated")),
    )
