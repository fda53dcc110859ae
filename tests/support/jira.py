"""Settings for an app wired to the Jira stand-in, Jira deliveries, and an action item ready for a ticket.

The fixtures (`jira_server`, `jira`, `jira_client`) are in tests/conftest.py."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from app.integrations.jira.signature import sign
from app.models.tickets import Ticket
from tests.support.factories import add_action_item, add_finding, make_incident, make_postmortem
from tests.support.standins import JiraStandIn

JIRA_SECRET = "it-gate-test-secret"


def jira_settings(settings, jira: JiraStandIn):
    return settings.model_copy(update={
        "jira_url": jira.url, "jira_email": jira.email, "jira_api_token": SecretStr(jira.api_token),
        "jira_project": jira.project_key, "jira_webhook_secret": SecretStr(JIRA_SECRET),
        "jira_search_delay_seconds": 0.3, "jira_backoff_seconds": 0.0, "jira_timeout_seconds": 5,
        "jira_max_attempts": 4,
    })


async def ticket_finding(client, *, incident: str = "PINC0001") -> tuple[dict, dict]:
    """A postmortem over one incident with one `decision=ticket` finding."""
    incident_id = await make_incident(client, client.runtime, incident)
    postmortem = await make_postmortem(client, [incident_id])
    finding = await add_finding(client, postmortem["id"], decision="ticket")
    return postmortem, finding


async def ticketed_item(client, **fields) -> dict:
    _, finding = await ticket_finding(client)
    return await add_action_item(client, finding["id"], create_ticket=True, **fields)


# --- helpers for webhook, reconcile and link tests -------------------------------------------------------------

JIRA_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jira"


def create_standin_issue(jira: JiraStandIn, *, summary: str = "An issue someone filed by hand",
                         labels: tuple[str, ...] = (), category: str | None = None,
                         resolution: str | None = None) -> str:
    """An issue created through the stand-in's REST API (as a person would in Jira); returns its key."""
    fields = {"project": {"key": jira.project_key}, "issuetype": {"name": "Task"}, "summary": summary,
              "labels": list(labels)}
    with httpx.Client(auth=(jira.email, jira.api_token), timeout=5) as http:
        response = http.post(f"{jira.url}/rest/api/2/issue", json={"fields": fields})
    assert response.status_code == 201, response.text
    key = response.json()["key"]
    if category is not None:
        jira.set_status(key, category, resolution)
    return key


def jira_time(moment: datetime) -> str:
    """Jira's '2026-11-22T12:00:00.000+0000'."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def issue_event(*, issue_id: str, key: str, category: str = "done", updated: datetime | None = None,
                resolution: str | None = "Done", event: str = "jira:issue_updated") -> dict:
    """The documented `jira:issue_updated` (Done) delivery, rewritten for another issue and state."""
    body = json.loads((JIRA_FIXTURES / "documented" / "webhook_issue_updated_done.json").read_bytes())
    body["webhookEvent"] = event
    issue = body["issue"]
    issue["id"], issue["key"] = issue_id, key
    issue["self"] = f"https://acme.atlassian.net/rest/api/2/issue/{issue_id}"
    fields = issue["fields"]
    fields["status"]["statusCategory"]["key"] = category
    fields["resolution"] = None if resolution is None else {"id": "10000", "name": resolution, "description": ""}
    if updated is not None:
        fields["updated"] = jira_time(updated)
        body["timestamp"] = int(updated.timestamp() * 1000)
    return body


def deleted_event(*, issue_id: str, key: str, at: datetime | None = None) -> dict:
    """The documented `jira:issue_deleted` delivery, rewritten for another issue."""
    body = json.loads((JIRA_FIXTURES / "documented" / "webhook_issue_deleted.json").read_bytes())
    body["issue"]["id"], body["issue"]["key"] = issue_id, key
    if at is not None:
        body["timestamp"] = int(at.timestamp() * 1000)
    return body


async def post_jira(client, body: bytes | dict, *, identifier: str | None = None, secret: str | None = JIRA_SECRET,
                    signature: str | None = None, headers: dict | None = None):
    """POST /webhooks/jira, signed with `secret` over the exact bytes (unless `signature` is given)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if signature is not None:
        sent["X-Hub-Signature"] = signature
    elif secret is not None:
        sent["X-Hub-Signature"] = sign(raw, secret.encode())
    if identifier is not None:
        sent["X-Atlassian-Webhook-Identifier"] = identifier
    return await client.post("/webhooks/jira", content=raw, headers=sent)


async def ticket_row(client, item_id: str) -> Ticket:
    """The outbox row of an action item, as stored now."""
    async with client.runtime.sessionmaker() as session:
        return await session.scalar(sa.select(Ticket).where(Ticket.action_item_id == uuid.UUID(item_id)))
