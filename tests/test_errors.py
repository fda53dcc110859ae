"""One JSON error shape: malformed JSON → 400, wrong types → 422, unknown routes → 404; nothing written."""

from tests.support.constants import ADMIN
from tests.support.db import count_rows


async def test_malformed_json_body_is_a_400_and_writes_nothing(client, runtime):
    response = await client.post("/api/v1/tokens", headers={**ADMIN, "Content-Type": "application/json"},
                                 content=b'{"name": "ci", "scopes": ["read"]')
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_json"
    assert body["message"]
    assert await count_rows(runtime, "api_tokens") == 0
    assert await count_rows(runtime, "audit_entries") == 0


async def test_wrong_types_are_a_422_naming_the_field_and_write_nothing(client, runtime):
    response = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": ["not", "a", "string"],
                                                                          "scopes": ["root"]})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    fields = {detail["field"] for detail in body["details"]}
    assert {"body.name", "body.scopes.0"} <= fields
    assert "body.name" in body["message"]
    assert await count_rows(runtime, "api_tokens") == 0


async def test_unknown_route_and_method_answer_json(client):
    missing = await client.get("/api/v1/nothing-here", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = await client.put("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


async def test_bad_query_parameter_is_a_422(client):
    response = await client.get("/api/v1/incidents?limit=0", headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "query.limit"


async def test_bad_cursor_is_a_400(client):
    response = await client.get("/api/v1/incidents?cursor=garbage", headers=ADMIN)
    assert response.status_code == 400
    assert "cursor" in response.json()["message"]


async def test_an_unexpected_error_is_a_json_500(app, monkeypatch):
    import httpx

    from app.incidents import service

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "list_incidents", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/incidents", headers=ADMIN)
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "disk on fire" not in response.text
