"""The scope matrix: every route class × every scope. Allowed → never 401/403; denied → 403."""

import pytest

from tests.support.constants import ADMIN

SCOPES = ["read", "write", "gates:read", "admin"]
NO_ID = "8a6e0804-2bd0-4672-b79a-d97b65d92f51"

# (route class, method, path, json body, the scope it needs)
ROUTES = [
    ("tokens:create", "POST", "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, "admin"),
    ("tokens:revoke", "DELETE", "/api/v1/tokens/8a6e0804-2bd0-4672-b79a-d97b65d92f51", None, "admin"),
    ("incidents:list", "GET", "/api/v1/incidents", None, "read"),
    ("incidents:get", "GET", "/api/v1/incidents/PNOTHERE", None, "read"),
    ("postmortems:create", "POST", "/api/v1/postmortems",
     {"title": "x", "incident_ids": ["PNOTHERE"], "framework": "five_whys"}, "write"),
    ("postmortems:list", "GET", "/api/v1/postmortems", None, "read"),
    ("postmortems:get", "GET", f"/api/v1/postmortems/{NO_ID}", None, "read"),
    ("postmortems:update", "PATCH", f"/api/v1/postmortems/{NO_ID}", {"title": "x"}, "write"),
    ("postmortems:transition", "POST", f"/api/v1/postmortems/{NO_ID}/transitions", {"to": "in_review"}, "write"),
    ("postmortems:analysis", "PUT", f"/api/v1/postmortems/{NO_ID}/analysis", {"nodes": [], "edges": []}, "write"),
    ("findings:create", "POST", f"/api/v1/postmortems/{NO_ID}/findings",
     {"statement": "x", "category": "process", "impact": "low", "effort": "low", "decision": "rejected"}, "write"),
    ("findings:list", "GET", "/api/v1/findings?tag=x", None, "read"),
    ("findings:get", "GET", f"/api/v1/findings/{NO_ID}", None, "read"),
    ("findings:update", "PATCH", f"/api/v1/findings/{NO_ID}", {"statement": "x"}, "write"),
    ("findings:delete", "DELETE", f"/api/v1/findings/{NO_ID}", None, "write"),
    ("action-items:create", "POST", f"/api/v1/findings/{NO_ID}/action-items",
     {"title": "x", "owner": "o", "priority": "P1", "due_date": "2026-12-01", "durability": "detect"}, "write"),
    ("action-items:list", "GET", "/api/v1/action-items?overdue=true", None, "read"),
    ("action-items:get", "GET", f"/api/v1/action-items/{NO_ID}", None, "read"),
    ("action-items:update", "PATCH", f"/api/v1/action-items/{NO_ID}", {"status": "completed"}, "write"),
    ("action-items:delete", "DELETE", f"/api/v1/action-items/{NO_ID}", None, "write"),
    ("lint:blame", "POST", "/api/v1/lint/blame", {"text": "He was careless."}, "read"),
    ("packets:get", "GET", "/api/v1/incidents/PNOTHERE/packet", None, "read"),
    ("packets:rebuild", "POST", "/api/v1/incidents/PNOTHERE/packet/rebuild", None, "write"),
    ("packets:statement", "POST", "/api/v1/incidents/PNOTHERE/packet/statements", {"author": "a", "text": "t"},
     "write"),
    ("gates:postmortem", "GET", f"/api/v1/gates/postmortems/{NO_ID}", None, "gates:read"),
    ("gates:service", "GET", "/api/v1/gates/services/checkout-api", None, "gates:read"),
]


def allowed(held: str, needed: str) -> bool:
    return held == "admin" or held == needed


@pytest.fixture
async def tokens(client) -> dict[str, dict[str, str]]:
    headers = {}
    for scope in SCOPES:
        response = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": scope, "scopes": [scope]})
        headers[scope] = {"Authorization": f"Bearer {response.json()['token']}"}
    return headers


@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
async def test_scope_matrix(client, tokens, route):
    _, method, path, body, needed = route
    for scope in SCOPES:
        response = await client.request(method, path, headers=tokens[scope], json=body)
        if allowed(scope, needed):
            assert response.status_code not in (401, 403), (scope, response.text)
            assert response.status_code < 500
        else:
            assert response.status_code == 403, (scope, response.text)
            assert response.json()["details"] == {"required_scope": needed}
    anonymous = await client.request(method, path, json=body)
    assert anonymous.status_code == 401
