"""Bad input answers 422 naming the field, unknown ids 404; the analysis graph and the blame lint over HTTP."""

import json

import pytest

from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import (
    ACTION_ITEM,
    FINDING,
    add_action_item,
    add_finding,
    audit_entries,
    make_incident,
    make_postmortem,
)

MISSING = "8a6e0804-2bd0-4672-b79a-d97b65d92f51"


@pytest.fixture
async def rows(client, runtime) -> dict[str, str]:
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident], framework="five_whys")
    finding = await add_finding(client, postmortem["id"])
    item = await add_action_item(client, finding["id"])
    return {"incident": incident, "postmortem": postmortem["id"], "finding": finding["id"], "item": item["id"]}


def assert_names(response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in [d["field"] for d in body["details"]], body
    assert field in body["message"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"priority": "P9"}, "body.priority"),
    ({"due_date": "tomorrow"}, "body.due_date"),
    ({"due_date": "2026-13-01"}, "body.due_date"),
    ({"durability": "hope"}, "body.durability"),
    ({"owner": "  "}, "body.owner"),
    ({"title": ""}, "body.title"),
    ({"status": "completed"}, "body.status"),  # status is not set on create: items start open
])
async def test_action_item_create_validation(client, runtime, rows, overrides, field):
    response = await client.post(f"/api/v1/findings/{rows['finding']}/action-items", headers=ADMIN,
                                 json={**ACTION_ITEM, **overrides})
    assert_names(response, field)
    assert await count_rows(runtime, "action_items") == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"priority": "P9"}, "body.priority"),
    ({"due_date": "tomorrow"}, "body.due_date"),
    ({"status": "done"}, "body.status"),
    ({"owner": None}, "body.owner"),
    ({"due_date": None}, "body.due_date"),
    ({"escalation_level": 2}, "body.escalation_level"),
])
async def test_action_item_update_validation(client, rows, body, field):
    assert_names(await client.patch(f"/api/v1/action-items/{rows['item']}", headers=ADMIN, json=body), field)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"category": "people"}, "body.category"),
    ({"impact": "huge"}, "body.impact"),
    ({"effort": None}, "body.effort"),
    ({"decision": "later"}, "body.decision"),
    ({"tags": ["#"]}, "body.tags"),
    ({"statement": " "}, "body.statement"),
])
async def test_finding_validation(client, rows, overrides, field):
    create = await client.post(f"/api/v1/postmortems/{rows['postmortem']}/findings", headers=ADMIN,
                               json={**FINDING, **overrides})
    assert_names(create, field)
    assert_names(await client.patch(f"/api/v1/findings/{rows['finding']}", headers=ADMIN, json=overrides), field)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"framework": "fishbone"}, "body.framework"),
    ({"incident_ids": []}, "body.incident_ids"),
    ({"title": ""}, "body.title"),
    ({"participants": [{"name": "Dana", "role": "judge"}]}, "body.participants.0.role"),
    ({"status": "closed"}, "body.status"),
])
async def test_postmortem_create_validation(client, rows, overrides, field):
    body = {"title": "t", "incident_ids": [rows["incident"]], "framework": "five_whys", **overrides}
    assert_names(await client.post("/api/v1/postmortems", headers=ADMIN, json=body), field)


@pytest.mark.parametrize(("body", "field"), [
    ({"title": None}, "body.title"),
    ({"incident_ids": None}, "body.incident_ids"),
    ({"similar_incidents_reviewed": None}, "body.similar_incidents_reviewed"),
    ({"framework": "contribution_map"}, "body.framework"),  # the analysis depends on it: fixed at creation
    ({"status": "closed"}, "body.status"),  # status moves through /transitions only
])
async def test_postmortem_update_validation(client, rows, body, field):
    assert_names(await client.patch(f"/api/v1/postmortems/{rows['postmortem']}", headers=ADMIN, json=body), field)


async def test_patch_with_unknown_incident_names_it(client, rows):
    response = await client.patch(f"/api/v1/postmortems/{rows['postmortem']}", headers=ADMIN,
                                  json={"incident_ids": ["PGHOST0"]})
    assert response.status_code == 422 and "PGHOST0" in response.json()["message"]


async def test_transition_to_an_unknown_status(client, rows):
    response = await client.post(f"/api/v1/postmortems/{rows['postmortem']}/transitions", headers=ADMIN,
                                 json={"to": "archived"})
    assert_names(response, "body.to")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/postmortems/{id}", None),
    ("PATCH", "/api/v1/postmortems/{id}", {"title": "x"}),
    ("POST", "/api/v1/postmortems/{id}/transitions", {"to": "in_review"}),
    ("PUT", "/api/v1/postmortems/{id}/analysis", {"nodes": [], "edges": []}),
    ("POST", "/api/v1/postmortems/{id}/findings", FINDING),
    ("GET", "/api/v1/findings/{id}", None),
    ("PATCH", "/api/v1/findings/{id}", {"statement": "x"}),
    ("DELETE", "/api/v1/findings/{id}", None),
    ("POST", "/api/v1/findings/{id}/action-items", ACTION_ITEM),
    ("GET", "/api/v1/action-items/{id}", None),
    ("PATCH", "/api/v1/action-items/{id}", {"status": "completed"}),
    ("DELETE", "/api/v1/action-items/{id}", None),
])
async def test_unknown_ids_are_404_and_malformed_ids_422(client, rows, method, path, body):
    response = await client.request(method, path.format(id=MISSING), headers=ADMIN, json=body)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found" and MISSING in response.json()["message"]
    malformed = await client.request(method, path.format(id="not-a-uuid"), headers=ADMIN, json=body)
    assert malformed.status_code == 422


@pytest.mark.parametrize("query", ["/postmortems?status=done", "/findings?category=people",
                                   "/action-items?priority=P9", "/action-items?overdue=maybe",
                                   "/findings?limit=0", "/action-items?limit=501"])
async def test_bad_filters_are_422(client, query):
    assert (await client.get(f"/api/v1{query}", headers=ADMIN)).status_code == 422


@pytest.mark.parametrize("text", ["nul \u0000 here", "lone \ud800 surrogate"])
async def test_text_the_database_cannot_store_is_422_not_500(client, runtime, rows, text):
    async def send(method: str, path: str, body: dict):
        # json.dumps escapes a lone surrogate as JSON allows (httpx's own encoder cannot).
        return await client.request(method, path, content=json.dumps(body),
                                    headers={**ADMIN, "Content-Type": "application/json"})

    pid = rows["postmortem"]
    assert_names(await send("POST", f"/api/v1/postmortems/{pid}/findings", {**FINDING, "statement": text}),
                 "body.statement")
    assert_names(await send("PATCH", f"/api/v1/postmortems/{pid}",
                            {"participants": [{"name": text, "role": "observer"}]}), "body.participants.0.name")
    assert_names(await send("PUT", f"/api/v1/postmortems/{pid}/analysis",
                            {"nodes": [{"id": "a", "label": text, "kind": "impact"}], "edges": []}),
                 "body.nodes.0.label")
    assert_names(await send("POST", "/api/v1/lint/blame", {"text": text}), "body.text")


@pytest.mark.parametrize("query", ["/findings?q=%00", "/findings?tag=%00", "/action-items?owner=a%00",
                                   "/action-items?service=%00", "/postmortems?incident=%00"])
async def test_nul_in_a_query_is_422(client, query):
    assert (await client.get(f"/api/v1{query}", headers=ADMIN)).status_code == 422


@pytest.mark.parametrize("path", ["/postmortems", "/findings", "/action-items"])
async def test_a_cursor_not_given_out_is_400(client, path):
    assert (await client.get(f"/api/v1{path}?cursor=garbage", headers=ADMIN)).status_code == 400


# --- the analysis graph ----------------------------------------------------------------------------


FIVE_WHYS = {
    "nodes": [
        {"id": "impact", "label": "Database unresponsive", "kind": "impact"},
        {"id": "memory", "label": "A query consumed all memory", "kind": "factor", "category": "technical"},
        {"id": "limits", "label": "No query resource limits", "kind": "factor", "category": "technical"},
        {"id": "review", "label": "Templates not updated from postmortems", "kind": "factor",
         "category": "process"},
        {"id": "alert", "label": "Memory alert", "kind": "barrier", "barrier_state": "missing"},
    ],
    "edges": [{"from": "memory", "to": "impact"}, {"from": "limits", "to": "memory"},
              {"from": "review", "to": "limits"}, {"from": "alert", "to": "memory"}],
}


async def test_put_analysis_stores_and_returns_the_graph(client, runtime, rows):
    response = await client.put(f"/api/v1/postmortems/{rows['postmortem']}/analysis", headers=ADMIN, json=FIVE_WHYS)
    assert response.status_code == 200, response.text
    analysis = response.json()["analysis"]
    assert analysis["edges"] == FIVE_WHYS["edges"]
    assert [n["id"] for n in analysis["nodes"]] == ["impact", "memory", "limits", "review", "alert"]
    assert analysis["nodes"][4]["barrier_state"] == "missing" and analysis["nodes"][0]["category"] is None
    got = (await client.get(f"/api/v1/postmortems/{rows['postmortem']}", headers=ADMIN)).json()
    assert got["analysis"] == analysis
    assert ("admin-token", "postmortem.analysis_set", "postmortem", rows["postmortem"]) in await audit_entries(runtime)


@pytest.mark.parametrize(("change", "code", "named"), [
    (lambda g: g["edges"].append({"from": "impact", "to": "review"}), "cycle", "impact → review → limits → memory"),
    (lambda g: g["edges"].append({"from": "ghost", "to": "impact"}), "dangling_edge", "ghost → impact"),
    (lambda g: g["nodes"].append({"id": "x", "label": "x", "kind": "symptom"}), "unknown_kind", "'x'"),
    (lambda g: g["nodes"][1].pop("category"), "factor_without_category", "'memory'"),
    (lambda g: g["nodes"][4].pop("barrier_state"), "barrier_without_state", "'alert'"),
    (lambda g: g["nodes"].append(dict(g["nodes"][1])), "duplicate_node", "'memory'"),
    (lambda g: g["nodes"].append({"id": "i2", "label": "x", "kind": "impact"}), "five_whys_impact_count", "'i2'"),
    (lambda g: g["edges"].append({"from": "review", "to": "memory"}), "five_whys_several_effects", "'review'"),
    (lambda g: g["edges"].pop(), "five_whys_unattached_node", "'alert'"),
])
async def test_put_analysis_refuses_a_broken_graph_naming_the_culprit(client, runtime, rows, change, code, named):
    graph = {"nodes": [dict(n) for n in FIVE_WHYS["nodes"]], "edges": [dict(e) for e in FIVE_WHYS["edges"]]}
    change(graph)
    response = await client.put(f"/api/v1/postmortems/{rows['postmortem']}/analysis", headers=ADMIN, json=graph)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error" and named in body["message"]
    assert code in [d["type"] for d in body["details"]]
    got = (await client.get(f"/api/v1/postmortems/{rows['postmortem']}", headers=ADMIN)).json()
    assert got["analysis"] is None


async def test_a_contribution_map_accepts_a_web(client, runtime):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    graph = {"nodes": [*FIVE_WHYS["nodes"], {"id": "slow", "label": "Slow checkout", "kind": "impact"}],
             "edges": [*FIVE_WHYS["edges"], {"from": "limits", "to": "slow"}]}
    response = await client.put(f"/api/v1/postmortems/{postmortem['id']}/analysis", headers=ADMIN, json=graph)
    assert response.status_code == 200, response.text
    assert len(response.json()["analysis"]["edges"]) == 5


@pytest.mark.parametrize("graph", [
    {"nodes": [{"id": "a", "label": "a", "kind": "impact", "colour": "red"}], "edges": []},
    {"nodes": [], "edges": [{"source": "a", "target": "b"}]},
    {"nodes": [{"id": "", "label": "a", "kind": "impact"}], "edges": []},
])
async def test_put_analysis_shape_errors_are_422(client, rows, graph):
    response = await client.put(f"/api/v1/postmortems/{rows['postmortem']}/analysis", headers=ADMIN, json=graph)
    assert response.status_code == 422


# --- the blame lint --------------------------------------------------------------------------------


async def test_lint_blame(client):
    text = "The deploy went out at 10:02. The on-call engineer should have checked the canary."
    response = await client.post("/api/v1/lint/blame", headers=ADMIN, json={"text": text})
    assert response.status_code == 200
    [issue] = response.json()["issues"]
    assert issue["indicator"] == "should have" and text[issue["start"]:issue["end"]] == "should have"
    assert issue["sentence"] == "The on-call engineer should have checked the canary." and issue["suggestion"]
    assert (await client.post("/api/v1/lint/blame", headers=ADMIN, json={"text": ""})).json() == {"issues": []}
    assert (await client.post("/api/v1/lint/blame", headers=ADMIN, json={})).status_code == 422
