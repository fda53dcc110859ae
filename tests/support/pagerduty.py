"""Building and sending signed PagerDuty v3 deliveries in tests."""

import json
from pathlib import Path

from app.integrations.pagerduty.signature import sign
from tests.support.constants import PD_SECRET

# A copy of ../shared/fixtures (see tests/fixtures/README.md), so a bare clone runs the suite.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pagerduty"


def fixture_bytes(name: str) -> bytes:
    matches = list(FIXTURES.glob(f"*/{name}"))
    assert len(matches) == 1, name
    return matches[0].read_bytes()


def delivery_fixtures() -> list[Path]:
    """Every file that is a delivery (not the signature vectors)."""
    return sorted(p for p in FIXTURES.glob("*/*.json") if "event" in json.loads(p.read_bytes()))


async def post_delivery(client, body: bytes | dict, *, secret: str = PD_SECRET, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               "X-PagerDuty-Signature": signature if signature is not None else sign(raw, secret.encode())}
    return await client.post("/webhooks/pagerduty", content=raw, headers=headers)


def incident_event(event_id: str, event_type: str, occurred_at: str, incident_id: str, *, status: str = "triggered",
                   title: str = "Checkout API p99 latency > 2s", service_id: str = "PSV81QA", priority: str | None = None,
                   urgency: str = "high", agent_type: str = "user_reference", created_at: str | None = None,
                   incident_key: str | None = None, **extra) -> dict:
    """A v3 incident event with a full incident snapshot, in PagerDuty's documented shape."""
    data = {
        "id": incident_id, "type": "incident", "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}", "number": 1, "status": status,
        "title": title, "incident_key": incident_key, "created_at": created_at,
        "service": {"id": service_id, "summary": "Checkout API", "type": "service_reference"},
        "assignees": [], "teams": [{"id": "PTM0PAY", "summary": "Payments", "type": "team_reference"}],
        "priority": {"id": "PPR", "summary": priority, "type": "priority_reference"} if priority else None,
        "urgency": urgency, "conference_bridge": None, "resolve_reason": None, **extra,
    }
    return {"event": {"id": event_id, "event_type": event_type, "resource_type": "incident",
                      "occurred_at": occurred_at, "client": None, "data": data,
                      "agent": {"id": "PAGENT", "type": agent_type, "summary": "Dana Whitfield"}}}


def note_event(event_id: str, occurred_at: str, incident_id: str, content: str) -> dict:
    return {"event": {"id": event_id, "event_type": "incident.annotated", "resource_type": "incident",
                      "occurred_at": occurred_at, "client": None,
                      "agent": {"id": "PAGENT", "type": "user_reference", "summary": "Dana Whitfield"},
                      "data": {"incident": {"id": incident_id, "type": "incident_reference"},
                               "id": f"N{event_id}", "content": content, "trimmed": False, "type": "incident_note"}}}
