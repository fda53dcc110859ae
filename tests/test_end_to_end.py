"""The loop end to end: a postmortem cannot close until its findings have tickets that hold.

PagerDuty resolves an incident → packet → postmortem with three ticket findings → close
refused (3 × finding_without_ticket) → tickets created in Jira → a "done" webhook
completes one item → an issue is deleted (ticket_missing) → relinked → close succeeds.
`loopgate gate check` answers 1 (also as a JUnit report), then 0, against a real HTTP server along the way.
"""

import asyncio
import json
import os
import subprocess
import sys

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
import xmlschema

from app.integrations.jira.signature import sign
from app.main import create_app
from tests.support.constants import ADMIN
from tests.support.pagerduty import incident_event, post_delivery
from tests.support.factories import add_action_item, add_finding, make_postmortem, move
from tests.support.jira import JIRA_SECRET, jira_settings
from tests.support.server import serving

JUNIT_SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "gates" / "junit-10.xsd")


@pytest.fixture
def served(settings, jira):
    """The same database behind a real HTTP server, for the CLI."""
    with serving(create_app(jira_settings(settings, jira)), lifespan="on") as url:
        yield url


async def gate_check(url: str, token: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "LOOPGATE_URL": url, "LOOPGATE_TOKEN": token}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "gate", "check", *args, env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode, out.decode() + err.decode()


async def jira_webhook(client, body: dict, identifier: str):
    raw = json.dumps(body).encode()
    response = await client.post("/webhooks/jira", content=raw, headers={
        "X-Hub-Signature": sign(raw, JIRA_SECRET.encode()), "X-Atlassian-Webhook-Identifier": identifier,
        "Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    await client.runtime.queue.drain()


def issue_body(event: str, issue: dict) -> dict:
    return {"timestamp": 1_900_000_000_000, "webhookEvent": event, "issue": issue}


async def test_the_loop_from_resolve_to_close(jira_client, jira, served):
    client = jira_client
    gates = (await client.post("/api/v1/tokens", headers=ADMIN, json={"name": "ci", "scopes": ["gates:read"]})).json()
    for event in (incident_event("E1", "incident.triggered", "2026-11-20T10:00:00Z", "PLOOP01", priority="P1"),
                  incident_event("E2", "incident.resolved", "2026-11-20T10:40:00Z", "PLOOP01", status="resolved",
                                 priority="P1")):
        assert (await post_delivery(client, event)).status_code == 202
        await client.runtime.queue.drain()
    incident = (await client.get("/api/v1/incidents/PLOOP01", headers=ADMIN)).json()
    assert (await client.get("/api/v1/incidents/PLOOP01/packet", headers=ADMIN)).json()["status"] == "partial"

    postmortem = await make_postmortem(client, [incident["id"]], title="Checkout latency")
    findings = [await add_finding(client, postmortem["id"], decision="ticket", statement=f"Finding {n}.")
                for n in range(3)]
    assert (await move(client, postmortem["id"], "in_review", "published")).status_code == 200

    refused = await move(client, postmortem["id"], "closed")
    assert refused.status_code == 409
    assert refused.json()["error"] == "gate_failed"
    assert [v["code"] for v in refused.json()["violations"]] == ["finding_without_ticket"] * 3
    code, output = await gate_check(served, gates["token"], postmortem["id"])
    assert code == 1 and "finding_without_ticket" in output

    items = [await add_action_item(client, f["id"], create_ticket=True, title=f"Fix {n}")
             for n, f in enumerate(findings)]
    await client.runtime.queue.drain()
    tickets = [(await client.get(f"/api/v1/action-items/{i['id']}", headers=ADMIN)).json()["ticket"] for i in items]
    assert [t["state"] for t in tickets] == ["created"] * 3
    assert jira.count_issues("loopgate") == 3

    first = jira.get_issue(tickets[0]["jira_key"])
    jira.set_status(tickets[0]["jira_key"], "done")
    await jira_webhook(client, issue_body("jira:issue_updated", jira.get_issue(first["key"])), "wh-1")
    assert (await client.get(f"/api/v1/action-items/{items[0]['id']}", headers=ADMIN)).json()["status"] == "completed"

    second = jira.get_issue(tickets[1]["jira_key"])
    jira.delete_issue(second["key"])
    await jira_webhook(client, issue_body("jira:issue_deleted", second), "wh-2")
    gate = (await client.get(f"/api/v1/gates/postmortems/{postmortem['id']}", headers={
        "Authorization": f"Bearer {gates['token']}"})).json()
    assert {v["code"] for v in gate["violations"]} == {"ticket_missing", "finding_without_ticket"}
    assert (await move(client, postmortem["id"], "closed")).status_code == 409
    code, output = await gate_check(served, gates["token"], postmortem["id"])
    assert code == 1 and "ticket_missing" in output
    code, report = await gate_check(served, gates["token"], postmortem["id"], "--format", "junit")
    JUNIT_SCHEMA.validate(report)  # what a CI test view reads: a failure under each failing rule
    failures = {case.get("name"): [f.get("message") for f in case.findall("failure")]
                for case in ElementTree.fromstring(report).iter("testcase")}
    assert code == 1 and [len(failures[c]) for c in ("ticket_missing", "finding_without_ticket", "no_findings")] \
        == [1, 1, 0]

    replacement = httpx.post(f"{jira.url}/rest/api/2/issue", auth=(jira.email, jira.api_token), json={"fields": {
        "project": {"key": jira.project_key}, "issuetype": {"name": "Task"}, "summary": "Fix 1, again"}}).json()
    relinked = await client.patch(f"/api/v1/action-items/{items[1]['id']}", headers=ADMIN,
                                  json={"jira_key": replacement["key"]})
    assert relinked.status_code == 200 and relinked.json()["ticket"]["state"] == "linked"
    await client.runtime.queue.drain()

    code, output = await gate_check(served, gates["token"], postmortem["id"])
    assert code == 0 and "PASSED" in output
    closed = await move(client, postmortem["id"], "closed")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await gate_check(served, gates["token"], "8a6e0804-2bd0-4672-b79a-d97b65d92f51"))[0] == 2
