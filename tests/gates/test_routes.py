"""The gates as CI calls them: `GET /api/v1/gates/postmortems/{id}` and `GET /api/v1/gates/services/{service}`.

Incidents arrive through the signed PagerDuty webhook and its job; postmortems, findings and
action items through the API; the clock is fixed at 2026-11-22T12:00Z (the `clock` fixture).
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, post_delivery
from tests.support.factories import (
    add_action_item,
    add_finding,
    add_packet,
    audit_entries,
    make_incident,
    make_postmortem,
    move,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SERVICE_ID, SERVICE_NAME = "PSV81QA", "Checkout API"  # what tests/support/pagerduty.py's events carry


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def token(client, *scopes: str) -> dict[str, str]:
    response = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": f"ci-{'-'.join(scopes)}",
                                                                         "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def postmortem_gate(client, postmortem_id: str, headers: dict | None = None) -> dict:
    response = await client.get(f"/api/v1/gates/postmortems/{postmortem_id}", headers=headers or ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def service_gate(client, service: str, headers: dict | None = None) -> dict:
    response = await client.get(f"/api/v1/gates/services/{service}", headers=headers or ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def codes(gate: dict) -> list[tuple[str, list]]:
    return [(v["code"], v["ids"]) for v in gate["violations"]]


async def resolved_incident(client, runtime, external_id: str, *, resolved_ago: timedelta,
                            priority: str | None = "P1", urgency: str = "high",
                            service_id: str = SERVICE_ID) -> str:
    """An incident triggered an hour before it resolved `resolved_ago` before NOW; returns its Loopgate id."""
    resolved = NOW - resolved_ago
    triggered = resolved - timedelta(hours=1)
    common = {"service_id": service_id, "priority": priority, "urgency": urgency, "created_at": iso(triggered)}
    for suffix, kind, moment, status in (("T", "incident.triggered", triggered, "triggered"),
                                         ("R", "incident.resolved", resolved, "resolved")):
        event = incident_event(f"EV-{external_id}-{suffix}", kind, iso(moment), external_id, status=status, **common)
        assert (await post_delivery(client, event)).status_code == 202
    await runtime.queue.drain()
    response = await client.get(f"/api/v1/incidents/{external_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    incident = response.json()
    assert incident["status"] == "resolved" and incident["resolved_at"] == iso(resolved)
    return incident["id"]


# --- the postmortem gate -------------------------------------------------------------------------------------


async def test_the_postmortem_gate_answers_its_shape_with_a_gates_read_token(client, runtime, clock):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    gates = await token(client, "gates:read")
    gate = await postmortem_gate(client, postmortem["id"], gates)
    assert set(gate) == {"postmortem_id", "passed", "violations", "warnings", "evaluated_at"}
    assert gate["postmortem_id"] == postmortem["id"]
    assert gate["passed"] is False
    assert gate["evaluated_at"] == "2026-11-22T12:00:00Z"
    assert [v["code"] for v in gate["violations"]] == ["no_findings", "packet_incomplete"]
    for violation in gate["violations"]:
        assert set(violation) == {"code", "message", "ids"} and violation["message"]
    assert gate["violations"][0]["ids"] == [postmortem["id"]]
    assert gate["warnings"] == []
    # The same evaluation as the postmortem itself shows.
    detail = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()["gate"]
    assert {k: detail[k] for k in ("passed", "violations", "warnings")} == {
        k: gate[k] for k in ("passed", "violations", "warnings")}


async def test_a_postmortem_that_may_close_passes_and_blame_language_only_warns(client, runtime, clock):
    incident_id = await make_incident(client, runtime)
    await add_packet(runtime, incident_id, status="complete")
    postmortem = await make_postmortem(client, [incident_id])
    await add_finding(client, postmortem["id"], decision="knowledge_base")
    gates = await token(client, "gates:read")
    gate = await postmortem_gate(client, postmortem["id"], gates)
    assert (gate["passed"], gate["violations"], gate["warnings"]) == (True, [], [])

    response = await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN,
                                  json={"summary": "Alice forgot to renew the TLS certificate before it expired."})
    assert response.status_code == 200, response.text
    warned = await postmortem_gate(client, postmortem["id"], gates)
    assert warned["passed"] is True and warned["violations"] == []
    assert [w["code"] for w in warned["warnings"]] == ["blame_language"]


async def test_the_postmortem_gate_is_read_only(client, runtime, clock):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    before = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
    gates = await token(client, "gates:read")
    audit_before = await audit_entries(runtime)  # the token itself is audited
    for _ in range(2):
        await postmortem_gate(client, postmortem["id"], gates)
    assert (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json() == before
    assert await audit_entries(runtime) == audit_before


@pytest.mark.parametrize("scopes,expected", [
    (("read",), 403), (("write",), 403), (("read", "write"), 403), (("gates:read",), 200), (("admin",), 200),
])
async def test_the_gates_need_the_gates_read_scope(client, runtime, clock, scopes, expected):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    headers = await token(client, *scopes)
    for path in (f"/api/v1/gates/postmortems/{postmortem['id']}", f"/api/v1/gates/services/{SERVICE_ID}"):
        response = await client.get(path, headers=headers)
        assert response.status_code == expected, (path, response.text)
        if expected == 403:
            assert response.json()["error"] == "forbidden"


async def test_the_gates_need_a_token(client, runtime):
    for path in (f"/api/v1/gates/postmortems/{uuid.uuid4()}", f"/api/v1/gates/services/{SERVICE_ID}"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_an_unknown_postmortem_is_404(client, runtime):
    gates = await token(client, "gates:read")
    response = await client.get(f"/api/v1/gates/postmortems/{uuid.uuid4()}", headers=gates)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"
    malformed = await client.get("/api/v1/gates/postmortems/not-a-uuid", headers=gates)
    assert malformed.status_code == 422, malformed.text
    assert malformed.json()["details"][0]["field"] == "path.postmortem_id"


# --- the service deploy gate: overdue P1 action items --------------------------------------------------------


async def service_item(client, runtime, **fields) -> dict:
    """An action item on a postmortem over an incident of the Checkout API service."""
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    finding = await add_finding(client, postmortem["id"])
    return await add_action_item(client, finding["id"], **fields)


@pytest.mark.parametrize("service", [SERVICE_ID, SERVICE_NAME])
async def test_an_overdue_p1_action_item_fails_the_service_gate_by_id_or_name(client, runtime, clock, service):
    item = await service_item(client, runtime, priority="P1", due_date="2026-11-01")
    gates = await token(client, "gates:read")
    gate = await service_gate(client, service, gates)
    assert set(gate) >= {"passed", "violations", "warnings", "evaluated_at"}
    assert gate["passed"] is False
    assert codes(gate) == [("overdue_p1_action_item", [item["id"]])]
    assert "21 day(s) overdue" in gate["violations"][0]["message"]
    assert gate["evaluated_at"] == "2026-11-22T12:00:00Z"


@pytest.mark.parametrize("status", ["in_progress", "blocked"])
async def test_an_overdue_p1_item_in_progress_or_blocked_still_fails(client, runtime, clock, status):
    item = await service_item(client, runtime, priority="P1", due_date="2026-11-01")
    response = await client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN, json={"status": status})
    assert response.status_code == 200, response.text
    assert codes(await service_gate(client, SERVICE_ID)) == [("overdue_p1_action_item", [item["id"]])]


@pytest.mark.parametrize("case", ["completed", "wont_do", "P2", "P3", "due today", "due tomorrow"])
async def test_p1_items_that_are_not_overdue_pass(client, runtime, clock, case):
    fields = {"priority": "P1", "due_date": "2026-11-01"}
    if case in ("P2", "P3"):
        fields["priority"] = case
    if case == "due today":
        fields["due_date"] = "2026-11-22"
    if case == "due tomorrow":
        fields["due_date"] = "2026-11-23"
    item = await service_item(client, runtime, **fields)
    if case in ("completed", "wont_do"):
        response = await client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN, json={"status": case})
        assert response.status_code == 200, response.text
    gate = await service_gate(client, SERVICE_ID)
    assert (gate["passed"], gate["violations"]) == (True, [])


async def test_a_p1_item_becomes_overdue_when_the_day_passes(client, runtime, clock):
    item = await service_item(client, runtime, priority="P1", due_date="2026-11-22")
    assert (await service_gate(client, SERVICE_ID))["passed"] is True
    clock.advance(hours=12)  # 2026-11-23T00:00Z
    assert codes(await service_gate(client, SERVICE_ID)) == [("overdue_p1_action_item", [item["id"]])]


async def test_an_overdue_item_of_another_service_does_not_count(client, runtime, clock):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime, "PINC0009",
                                                                    service_id="PSVOTHER")])
    finding = await add_finding(client, postmortem["id"])
    await add_action_item(client, finding["id"], priority="P1", due_date="2026-11-01")
    assert (await service_gate(client, SERVICE_ID))["passed"] is True
    assert (await service_gate(client, "PSVOTHER"))["passed"] is False


async def test_an_unknown_service_passes_with_no_violations(client, runtime, clock):
    await service_item(client, runtime, priority="P1", due_date="2026-11-01")  # some other service is blocked
    gate = await service_gate(client, "PNOSUCHSERVICE", await token(client, "gates:read"))
    assert (gate["passed"], gate["violations"], gate["warnings"]) == (True, [], [])
    assert gate["service"] == "PNOSUCHSERVICE"


# --- the service deploy gate: overdue required postmortems ---------------------------------------------------


@pytest.mark.parametrize("service", [SERVICE_ID, SERVICE_NAME])
async def test_a_required_incident_without_a_postmortem_past_7_days_fails(client, runtime, clock, service):
    incident_id = await resolved_incident(client, runtime, "PCRIT1", resolved_ago=timedelta(days=8))
    incident = (await client.get(f"/api/v1/incidents/{incident_id}", headers=ADMIN)).json()
    assert incident["severity"] == "critical"
    gate = await service_gate(client, service, await token(client, "gates:read"))
    assert gate["passed"] is False
    assert codes(gate) == [("postmortem_overdue", [incident_id])]
    assert "has no postmortem" in gate["violations"][0]["message"]


@pytest.mark.parametrize("resolved_ago,passed", [
    (timedelta(days=6), True),
    (timedelta(days=7), True),  # due exactly now: not yet overdue
    (timedelta(days=7, minutes=1), False),
])
async def test_the_postmortem_is_due_7_days_after_resolution(client, runtime, clock, resolved_ago, passed):
    await resolved_incident(client, runtime, "PCRIT2", resolved_ago=resolved_ago)
    assert (await service_gate(client, SERVICE_ID))["passed"] is passed


async def test_a_high_urgency_incident_without_priority_is_required_too(client, runtime, clock):
    incident_id = await resolved_incident(client, runtime, "PHIGH1", resolved_ago=timedelta(days=10),
                                          priority=None, urgency="high")
    assert codes(await service_gate(client, SERVICE_ID)) == [("postmortem_overdue", [incident_id])]


@pytest.mark.parametrize("priority,urgency", [("P3", "high"), ("P4", "low"), (None, "low")])
async def test_an_incident_whose_severity_needs_no_postmortem_passes(client, runtime, clock, priority, urgency):
    await resolved_incident(client, runtime, "PLOW1", resolved_ago=timedelta(days=30), priority=priority,
                            urgency=urgency)
    assert (await service_gate(client, SERVICE_ID))["passed"] is True


async def test_a_draft_postmortem_does_not_satisfy_the_gate_a_published_one_does(client, runtime, clock):
    incident_id = await resolved_incident(client, runtime, "PCRIT3", resolved_ago=timedelta(days=9))
    postmortem = await make_postmortem(client, [incident_id])
    gate = await service_gate(client, SERVICE_ID)
    assert codes(gate) == [("postmortem_overdue", [incident_id])]
    assert postmortem["id"] in gate["violations"][0]["message"]

    assert (await move(client, postmortem["id"], "in_review")).status_code == 200
    assert codes(await service_gate(client, SERVICE_ID)) == [("postmortem_overdue", [incident_id])]
    published = await move(client, postmortem["id"], "published")
    assert published.status_code == 200, published.text
    gate = await service_gate(client, SERVICE_ID)
    assert (gate["passed"], gate["violations"]) == (True, [])


async def test_an_unresolved_incident_is_not_yet_due(client, runtime, clock):
    await make_incident(client, runtime, "PSTILLOPEN")  # triggered 2026-11-20, never resolved
    assert (await service_gate(client, SERVICE_ID))["passed"] is True


async def test_both_rules_report_together(client, runtime, clock):
    incident_id = await resolved_incident(client, runtime, "PCRIT4", resolved_ago=timedelta(days=8))
    item = await service_item(client, runtime, priority="P1", due_date="2026-11-01")
    gate = await service_gate(client, SERVICE_NAME)
    assert codes(gate) == [("overdue_p1_action_item", [item["id"]]), ("postmortem_overdue", [incident_id])]
    assert await count_rows(runtime, "incidents") == 2
