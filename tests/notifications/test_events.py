"""Domain events of the lower packages become outbound events: packets, postmortems, the gate, recurrences."""

import json

import httpx
import respx

from app.runtime import JOBS
from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, add_finding, make_postmortem, move
from tests.support.notifications import resolve_incident, subscribe
from tests.support.pagerduty import incident_event, post_delivery

HOOK = "https://hooks.example/loopgate"


def bodies(route) -> list[dict]:
    return [json.loads(call.request.content) for call in route.calls]


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_packet_assembled(client, runtime, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["packet.assembled"])
    await resolve_incident(client, runtime)
    [event] = bodies(route)
    assert event["type"] == "packet.assembled"
    # Without a PagerDuty token the packet is built from the webhooks alone: partial, with gaps.
    assert (event["data"]["packet"]["version"], event["data"]["packet"]["status"]) == (1, "partial")
    assert event["data"]["incident"]["external_id"] == "PINC0001"


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_published_refused_close_and_closed(client, runtime, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["postmortem.published", "postmortem.closed", "gate.failed"],
                    categories=["technical"])
    other = respx_mock.post("https://process-only.example/").mock(return_value=httpx.Response(200))
    await subscribe(client, "https://process-only.example/", events=["postmortem.published"],
                    categories=["process"])
    await resolve_incident(client, runtime)
    incident = (await client.get("/api/v1/incidents/PINC0001", headers=ADMIN)).json()
    postmortem = await make_postmortem(client, [incident["id"]])
    await add_finding(client, postmortem["id"], decision="ticket")
    assert (await move(client, postmortem["id"], "in_review", "published")).status_code == 200
    refused = await move(client, postmortem["id"], "closed")
    assert refused.status_code == 409 and refused.json()["error"] == "gate_failed"
    # The refusal changed nothing: still published.
    assert (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()["status"] == \
        "published"
    published, failed = bodies(route)
    assert published["type"] == "postmortem.published"
    assert published["data"]["postmortem"]["id"] == postmortem["id"]
    assert failed["type"] == "gate.failed"
    assert [v["code"] for v in failed["data"]["violations"]] == ["finding_without_ticket"]
    assert other.call_count == 0  # its filter names another category
    # Decide it as knowledge instead: the gate passes and the close is announced.
    finding = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()["findings"][0]
    assert (await client.patch(f"/api/v1/findings/{finding['id']}", headers=ADMIN,
                               json={"decision": "knowledge_base"})).status_code == 200
    assert (await move(client, postmortem["id"], "closed")).status_code == 200
    assert [b["type"] for b in bodies(route)] == ["postmortem.published", "gate.failed", "postmortem.closed"]


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_recurrence_after_a_completed_fix_is_announced_once(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["recurrence.detected"])
    await resolve_incident(client, runtime, "PREP1", title="Disk full on db-1")
    first = (await client.get("/api/v1/incidents/PREP1", headers=ADMIN)).json()
    postmortem = await make_postmortem(client, [first["id"]])
    finding = await add_finding(client, postmortem["id"])
    item = await add_action_item(client, finding["id"], due_date="2026-11-30")
    assert (await client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN,
                               json={"status": "completed"})).status_code == 200
    clock.advance(days=3)
    event = incident_event("EV-PREP2", "incident.triggered", "2026-11-25T09:00:00Z", "PREP2",
                           title="Disk full on db-1", created_at="2026-11-25T09:00:00Z")
    assert (await post_delivery(client, event)).status_code == 202
    await runtime.queue.drain()
    second = (await client.get("/api/v1/incidents/PREP2", headers=ADMIN)).json()
    assert second["repeat_of_id"] == first["id"]
    await JOBS["link_repeats"](runtime.ctx, second["fingerprint"], "2026-11-25T09:00:00+00:00")
    await runtime.queue.drain()
    [recurred] = bodies(route)
    assert recurred["type"] == "recurrence.detected"
    assert recurred["data"]["reason"] == "fix_did_not_hold"
    assert (recurred["data"]["incident"]["id"], recurred["data"]["repeat_of"]["id"]) == (second["id"], first["id"])


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_a_repeat_without_a_fix_to_blame_is_not_a_recurrence(client, runtime, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["recurrence.detected"])
    await resolve_incident(client, runtime, "PREQ1", title="Disk full on db-2")
    event = incident_event("EV-PREQ2", "incident.triggered", "2026-11-21T09:00:00Z", "PREQ2",
                           title="Disk full on db-2", created_at="2026-11-21T09:00:00Z")
    assert (await post_delivery(client, event)).status_code == 202
    await runtime.queue.drain()
    assert (await client.get("/api/v1/incidents/PREQ2", headers=ADMIN)).json()["repeat_of_id"] is not None
    assert route.call_count == 0
