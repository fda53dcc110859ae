"""Postmortems through the API: create, read, list, edit, and the lifecycle with the gate on close."""

import pytest

from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import (
    add_action_item,
    add_finding,
    add_packet,
    audit_entries,
    make_incident,
    make_postmortem,
    move,
)

STATUSES = ["draft", "in_review", "published", "closed"]
PATH_TO = {"draft": [], "in_review": ["in_review"], "published": ["in_review", "published"],
           "closed": ["in_review", "published", "closed"]}
ALLOWED = {"draft": ["in_review"], "in_review": ["published", "draft"], "published": ["closed", "draft"],
           "closed": []}


async def closable(client, runtime) -> dict:
    """A draft postmortem the gate lets close: a complete packet and one knowledge-base finding."""
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident)
    postmortem = await make_postmortem(client, [incident])
    await add_finding(client, postmortem["id"])
    return postmortem


# --- create and read ---------------------------------------------------------------------------


async def test_create_with_both_kinds_of_incident_id(client, runtime):
    first = await make_incident(client, runtime, "PFIRST1")
    second = await make_incident(client, runtime, "PSECOND")
    participants = [{"name": "Dana", "role": "facilitator"}, {"name": "Ravi", "role": "provocateur"}]
    body = await make_postmortem(client, [first, "PSECOND", "PFIRST1"], framework="five_whys", facilitator="Dana",
                                 participants=participants)
    assert body["status"] == "draft" and body["framework"] == "five_whys"
    assert body["incident_ids"] == [first, second]  # in order, each once
    assert body["participants"] == participants and body["facilitator"] == "Dana"
    assert body["analysis"] is None and body["findings"] == [] and body["blame_issues"] == []
    assert body["published_at"] is None and body["closed_at"] is None
    assert body["gate"]["passed"] is False
    assert [v["code"] for v in body["gate"]["violations"]] == ["no_findings", "packet_incomplete",
                                                               "packet_incomplete"]
    got = await client.get(f"/api/v1/postmortems/{body['id']}", headers=ADMIN)
    assert got.status_code == 200 and got.json() == body
    assert await audit_entries(runtime, body["id"]) == [("admin-token", "postmortem.created", "postmortem",
                                                         body["id"])]


async def test_unknown_incident_is_a_422_naming_it_and_nothing_is_stored(client, runtime):
    known = await make_incident(client, runtime)
    response = await client.post("/api/v1/postmortems", headers=ADMIN, json={
        "title": "x", "incident_ids": [known, "PNOPE00", "5d0c3a4e-0000-4000-8000-000000000000"],
        "framework": "contribution_map"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert "PNOPE00" in body["message"] and "5d0c3a4e-0000-4000-8000-000000000000" in body["message"]
    assert {d["field"] for d in body["details"]} == {"body.incident_ids"}
    assert await count_rows(runtime, "postmortems") == 0


async def test_get_carries_nested_findings_action_items_and_the_gate(client, runtime):
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident])
    finding = await add_finding(client, postmortem["id"], decision="ticket",
                                statement="The on-call engineer failed to check the dashboard.")
    item = await add_action_item(client, finding["id"])
    body = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
    assert [f["id"] for f in body["findings"]] == [finding["id"]]
    nested = body["findings"][0]["action_items"]
    assert [i["id"] for i in nested] == [item["id"]] and nested[0]["ticket"] is None
    # No ticket exists yet (the Jira issue adds them): a ticket finding is reported as such.
    assert [v["code"] for v in body["gate"]["violations"]] == ["finding_without_ticket", "packet_incomplete"]
    assert [w["code"] for w in body["gate"]["warnings"]] == ["blame_language"]
    [issue] = body["blame_issues"]
    assert issue["field"] == "statement" and issue["finding_id"] == finding["id"]
    assert issue["indicator"] == "failed to"


async def test_blame_issues_say_which_field_they_are_in(client, runtime):
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident], title="Outage caused by human error")
    await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN, json={
        "summary": "Checkout slowed down.", "lessons": "Dana was careless with the flag."})
    body = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
    assert [(i["field"], i["indicator"], i["finding_id"]) for i in body["blame_issues"]] == [
        ("title", "human error", None), ("lessons", "careless", None)]
    lessons = body["lessons"]
    issue = body["blame_issues"][1]
    assert lessons[issue["start"]:issue["end"]] == "careless"


# --- list ------------------------------------------------------------------------------------------


async def test_list_filters_by_status_and_incident_and_pages(client, runtime, clock):
    one = await make_incident(client, runtime, "PONE000")
    two = await make_incident(client, runtime, "PTWO000")
    ids = []
    for number in range(3):
        clock.advance(minutes=1)
        ids.append((await make_postmortem(client, [one] if number < 2 else [two], title=f"pm {number}"))["id"])
    await move(client, ids[0], "in_review")

    async def listed(query: str) -> list[str]:
        response = await client.get(f"/api/v1/postmortems{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed("") == ids[::-1]
    assert await listed("?status=in_review") == [ids[0]]
    assert await listed("?status=draft") == [ids[2], ids[1]]
    assert await listed("?incident=PONE000") == [ids[1], ids[0]]
    assert await listed(f"?incident={two}") == [ids[2]]
    assert await listed("?incident=PUNKNOWN") == []
    first = (await client.get("/api/v1/postmortems?limit=2", headers=ADMIN)).json()
    assert [i["id"] for i in first["items"]] == [ids[2], ids[1]]
    assert first["items"][0]["incident_ids"] == [two]
    rest = (await client.get(f"/api/v1/postmortems?limit=2&cursor={first['next_cursor']}", headers=ADMIN)).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


# --- edit ------------------------------------------------------------------------------------------


async def test_patch_changes_only_what_is_given_and_is_audited(client, runtime, clock):
    incident = await make_incident(client, runtime)
    other = await make_incident(client, runtime, "POTHER0")
    postmortem = await make_postmortem(client, [incident])
    clock.advance(hours=1)
    response = await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN, json={
        "summary": "Checkout slowed for 8 minutes.", "what_went_well": "Fast rollback.",
        "what_could_improve": "Canary coverage.", "lessons": "Watch p95.", "facilitator": "Ravi",
        "participants": [{"name": "Ravi", "role": "facilitator"}], "incident_ids": ["POTHER0", incident],
        "similar_incidents_reviewed": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"] == "Checkout slowed for 8 minutes." and body["lessons"] == "Watch p95."
    assert body["incident_ids"] == [other, incident] and body["similar_incidents_reviewed"] is True
    assert body["title"] == postmortem["title"] and body["updated_at"] == "2026-11-22T13:00:00Z"
    cleared = await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN,
                                 json={"summary": None, "facilitator": None})
    assert cleared.json()["summary"] is None and cleared.json()["facilitator"] is None
    assert cleared.json()["what_went_well"] == "Fast rollback."
    actions = [a[1] for a in await audit_entries(runtime, postmortem["id"])]
    assert actions == ["postmortem.created", "postmortem.updated", "postmortem.updated"]
    unchanged = await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN, json={})
    assert unchanged.status_code == 200
    assert len(await audit_entries(runtime, postmortem["id"])) == 3  # nothing changed, nothing recorded


async def test_closed_postmortem_refuses_edits(client, runtime):
    postmortem = await closable(client, runtime)
    assert (await move(client, postmortem["id"], "in_review", "published", "closed")).status_code == 200
    postmortem_id = postmortem["id"]
    finding_id = (await client.get(f"/api/v1/postmortems/{postmortem_id}", headers=ADMIN)).json()["findings"][0]["id"]
    graph = {"nodes": [{"id": "i", "label": "impact", "kind": "impact"}], "edges": []}
    refused = [
        await client.patch(f"/api/v1/postmortems/{postmortem_id}", headers=ADMIN, json={"title": "new"}),
        await client.put(f"/api/v1/postmortems/{postmortem_id}/analysis", headers=ADMIN, json=graph),
        await client.post(f"/api/v1/postmortems/{postmortem_id}/findings", headers=ADMIN, json={
            "statement": "x", "category": "process", "impact": "low", "effort": "low", "decision": "rejected"}),
        await client.patch(f"/api/v1/findings/{finding_id}", headers=ADMIN, json={"statement": "y"}),
        await client.delete(f"/api/v1/findings/{finding_id}", headers=ADMIN),
    ]
    for response in refused:
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "postmortem_closed"
    body = (await client.get(f"/api/v1/postmortems/{postmortem_id}", headers=ADMIN)).json()
    assert body["title"] == postmortem["title"] and len(body["findings"]) == 1 and body["analysis"] is None


# --- transitions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
async def test_transition_table(client, runtime, clock, current, target):
    postmortem = await closable(client, runtime)
    if PATH_TO[current]:
        assert (await move(client, postmortem["id"], *PATH_TO[current])).status_code == 200
    before = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
    clock.advance(hours=2)
    response = await move(client, postmortem["id"], target)
    if target in ALLOWED[current]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
    else:
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"] == "invalid_transition" and body["allowed"] == ALLOWED[current]
        assert current in body["message"] and target in body["message"]
        after = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
        assert after == before


async def test_timestamps_follow_the_lifecycle(client, runtime, clock):
    postmortem = await closable(client, runtime)
    pid = postmortem["id"]
    clock.advance(hours=1)
    published = (await move(client, pid, "in_review", "published")).json()
    assert published["published_at"] == "2026-11-22T13:00:00Z" and published["closed_at"] is None
    clock.advance(hours=1)
    reopened = (await move(client, pid, "draft")).json()
    assert reopened["status"] == "draft" and reopened["published_at"] is None
    clock.advance(hours=1)
    assert (await move(client, pid, "in_review", "published")).json()["published_at"] == "2026-11-22T15:00:00Z"
    clock.advance(days=1)
    closed = (await move(client, pid, "closed")).json()
    assert closed["status"] == "closed" and closed["closed_at"] == "2026-11-23T15:00:00Z"
    assert closed["published_at"] == "2026-11-22T15:00:00Z" and closed["gate"]["passed"] is True
    actions = [a[1] for a in await audit_entries(runtime, pid)]
    assert actions.count("postmortem.transitioned") == 6


async def test_gate_refuses_close_without_findings_and_nothing_changes(client, runtime):
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident)
    postmortem = await make_postmortem(client, [incident])
    await move(client, postmortem["id"], "in_review", "published")
    audit_before = await audit_entries(runtime)
    response = await move(client, postmortem["id"], "closed")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "gate_failed" and "violation" in body["message"]
    assert [v["code"] for v in body["violations"]] == ["no_findings"]
    assert body["violations"][0]["ids"] == [postmortem["id"]] and body["warnings"] == []
    after = (await client.get(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN)).json()
    assert after["status"] == "published" and after["closed_at"] is None
    assert await audit_entries(runtime) == audit_before


async def test_gate_reports_every_rule_it_sees_from_the_rows(client, runtime):
    incident = await make_incident(client, runtime)
    past = await make_incident(client, runtime, "PPAST00", title="Checkout API p99 latency > 3s")
    await add_packet(runtime, incident, status="assembling", similar=(past,))
    postmortem = await make_postmortem(client, [incident])
    ticket = await add_finding(client, postmortem["id"], decision="ticket")
    await add_finding(client, postmortem["id"], systemic=True, proposal=None,
                      statement="Nobody owns the canary configuration.")
    await add_action_item(client, ticket["id"])
    await move(client, postmortem["id"], "in_review", "published")
    body = (await move(client, postmortem["id"], "closed")).json()
    assert [v["code"] for v in body["violations"]] == [
        "finding_without_ticket", "systemic_finding_without_proposal", "packet_incomplete",
        "similar_incidents_not_reviewed"]
    assert body["violations"][3]["ids"] == [past]


async def test_similar_incidents_reviewed_and_a_wont_do_item_let_it_close(client, runtime):
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident, status="partial", similar=("some-past-incident",))
    postmortem = await make_postmortem(client, [incident])
    finding = await add_finding(client, postmortem["id"], decision="rejected")
    item = await add_action_item(client, finding["id"])
    await client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN, json={"status": "wont_do"})
    await move(client, postmortem["id"], "in_review", "published")
    assert (await move(client, postmortem["id"], "closed")).status_code == 409
    await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN,
                       json={"similar_incidents_reviewed": True})
    assert (await move(client, postmortem["id"], "closed")).status_code == 200
