"""The PagerDuty v3 webhook envelope: `{"event": {"id", "event_type", "occurred_at", "data", ...}}`."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class EnvelopeError(ValueError):
    """The body is not JSON or not a v3 envelope; the message says what is wrong."""


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    occurred_at: datetime | None
    payload: dict[str, Any]


def parse_envelope(body: bytes) -> Envelope:
    try:
        payload = json.loads(body.decode("utf-8"))  # UTF-8 only: the body is stored as this text
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"The body is not valid JSON: {exc}.") from None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise EnvelopeError("Not a PagerDuty v3 webhook: expected a JSON object with an 'event' object.")
    for key, longest in (("id", 200), ("event_type", 100)):
        if not isinstance(event.get(key), str) or not event[key]:
            raise EnvelopeError(f"Not a PagerDuty v3 webhook: 'event.{key}' must be a non-empty string.")
        if len(event[key]) > longest:
            raise EnvelopeError(f"'event.{key}' is longer than {longest} characters.")
        if not event[key].isprintable():
            raise EnvelopeError(f"'event.{key}' must be printable text.")
    occurred_at = event.get("occurred_at")
    parsed = None
    if occurred_at is not None:
        try:
            parsed = datetime.fromisoformat(occurred_at) if isinstance(occurred_at, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise EnvelopeError("'event.occurred_at' must be an ISO 8601 timestamp with a time zone.")
    if "data" in event and event["data"] is not None and not isinstance(event["data"], dict):
        raise EnvelopeError("'event.data' must be an object.")
    return Envelope(event["id"], event["event_type"], parsed, payload)
