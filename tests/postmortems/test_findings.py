"""Findings: create, edit, delete, tags, impact/effort advice, and the knowledge base search."""

import pytest

from app.postmortems.advice import advise
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import add_action_item, add_finding, audit_entries, make_incident, make_postmortem


@pytest.fixture
async def postmortem(client, runtime) -> dict:
    return await make_postmortem(client, [await make_incident(client, runtime)])


async def test_create_normalises_tags_and_advises(client, runtime, postmortem):
    finding = await add_finding(client, postmortem["id"], tags=["#Config Management", "config-management", " Canary ",
                                                                "#auth  failure"],
                                owner="payments", systemic=True, proposal="Cut config incidents by half.")
    assert finding["postmortem_id"] == postmortem["id"]
    assert finding["tags"] == ["auth-failure", "canary", "config-management"]
    assert finding["advice"] == {"suggested_decision": "ticket", "matches_decision": False,
                                 "message": "High impact for little effort: do it now, as a ticket."}
    assert finding["systemic"] is True and finding["proposal"] == "Cut config incidents by half."
    assert finding["owner"] == "payments" and finding["action_items"] == []
    got = await client.get(f"/api/v1/findings/{finding['id']}", headers=ADMIN)
    assert got.status_code == 200 and got.json() == finding
    assert await audit_entries(runtime, finding["id"]) == [("admin-token", "finding.created", "finding",
                                                            finding["id"])]


@pytest.mark.parametrize(("impact", "effort", "suggested"), [
    ("high", "low", "ticket"), ("high", "medium", "ticket"), ("high", "high", "ticket"),
    ("medium", "low", "ticket"), ("medium", "medium", "knowledge_base"), ("medium", "high", "knowledge_base"),
    ("low", "low", "knowledge_base"), ("low", "medium", "knowledge_base"), ("low", "high", "knowledge_base"),
])
def test_the_impact_effort_matrix(impact, effort, suggested):
    advice = advise(impact=impact, effort=effort, decision="knowledge_base")
    assert advice.suggested_decision == suggested
    assert advice.matches_decision is (suggested == "knowledge_base")
    assert advice.message


def test_costly_high_impact_advice_points_at_a_systemic_proposal():
    assert "systemic" in advise(impact="high", effort="high", decision="ticket").message


async def test_patch_changes_fields_and_tags(client, runtime, postmortem, clock):
    finding = await add_finding(client, postmortem["id"], tags=["canary"])
    clock.advance(minutes=5)
    response = await client.patch(f"/api/v1/findings/{finding['id']}", headers=ADMIN, json={
        "tags": ["#Deploy Safety", "canary"], "impact": "low", "effort": "high", "decision": "knowledge_base",
        "category": "process", "owner": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["canary", "deploy-safety"] and body["category"] == "process"
    assert body["advice"]["suggested_decision"] == "knowledge_base" and body["advice"]["matches_decision"] is True
    assert body["statement"] == finding["statement"] and body["updated_at"] == "2026-11-22T12:05:00Z"
    assert await count_rows(runtime, "finding_tags") == 2
    actions = [a[1] for a in await audit_entries(runtime, finding["id"])]
    assert actions == ["finding.created", "finding.updated"]


async def test_delete_removes_the_finding_its_tags_and_action_items(client, runtime, postmortem):
    finding = await add_finding(client, postmortem["id"], tags=["a", "b"])
    item = await add_action_item(client, finding["id"])
    response = await client.delete(f"/api/v1/findings/{finding['id']}", headers=ADMIN)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(f"/api/v1/findings/{finding['id']}", headers=ADMIN)).status_code == 404
    assert (await client.get(f"/api/v1/action-items/{item['id']}", headers=ADMIN)).status_code == 404
    assert await count_rows(runtime, "finding_tags") == 0 and await count_rows(runtime, "action_items") == 0
    assert (await client.delete(f"/api/v1/findings/{finding['id']}", headers=ADMIN)).status_code == 404
    actions = [a[1] for a in await audit_entries(runtime, finding["id"])]
    assert actions == ["finding.created", "finding.deleted"]


async def test_knowledge_base_search(client, runtime, clock):
    one = await make_postmortem(client, [await make_incident(client, runtime, "PKBONE0")])
    two = await make_postmortem(client, [await make_incident(client, runtime, "PKBTWO0")])
    made = {}
    for key, postmortem, fields in [
        ("config", one, {"statement": "Connection pool limits were set from stale load assumptions.",
                         "category": "technical", "tags": ["#config-management", "database"]}),
        ("review", one, {"statement": "Pool settings are not reviewed per release.", "category": "process",
                         "tags": ["Config Management"], "proposal": "Validate configuration in CI (100% coverage)"}),
        ("owner", two, {"statement": "Nobody owns the shared database.", "category": "organizational",
                        "tags": ["ownership", "database"], "decision": "ticket"}),
    ]:
        clock.advance(minutes=1)
        made[key] = (await add_finding(client, postmortem["id"], **fields))["id"]

    async def search(query: str) -> list[str]:
        response = await client.get(f"/api/v1/findings{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        names = {v: k for k, v in made.items()}
        return [names[item["id"]] for item in response.json()["items"]]

    assert await search("") == ["owner", "review", "config"]
    assert await search("?tag=config-management") == ["review", "config"]
    assert await search("?tag=%23Config%20Management") == ["review", "config"]
    assert await search("?tag=database") == ["owner", "config"]
    assert await search("?tag=nothing") == []
    assert await search("?category=process") == ["review"]
    assert await search("?q=POOL") == ["review", "config"]
    assert await search("?q=validate configuration") == ["review"]  # the proposal counts too
    assert await search("?q=100%25") == ["review"]  # % is a character, not a wildcard
    assert await search("?q=%25") == ["review"]
    assert await search("?q=_") == []
    assert await search("?tag=database&category=organizational") == ["owner"]
    assert await search("?decision=ticket") == ["owner"]
    assert await search(f"?postmortem_id={one['id']}") == ["review", "config"]
    page = (await client.get("/api/v1/findings?limit=2", headers=ADMIN)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (await client.get(f"/api/v1/findings?limit=2&cursor={page['next_cursor']}", headers=ADMIN)).json()
    assert [i["id"] for i in rest["items"]] == [made["config"]] and rest["next_cursor"] is None


async def test_findings_nest_their_action_items_in_the_knowledge_base(client, runtime, postmortem):
    finding = await add_finding(client, postmortem["id"])
    item = await add_action_item(client, finding["id"])
    [listed] = (await client.get("/api/v1/findings", headers=ADMIN)).json()["items"]
    assert [i["id"] for i in listed["action_items"]] == [item["id"]]
