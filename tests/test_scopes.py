"""The scope matrix: every route class × every scope. Allowed → never 401/403; denied → 403."""

import pytest

from tests.conftest import ADMIN

SCOPES = ["read", "write", "gates:read", "admin"]

# (route class, method, path, json body, the scope it needs)
ROUTES = [
    ("tokens:create", "POST", "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, "admin"),
    ("tokens:revoke", "DELETE", "/api/v1/tokens/8a6e0804-2bd0-4672-b79a-d97b65d92f51", None, "admin"),
    ("incidents:list", "GET", "/api/v1/incidents", None, "read"),
    ("incidents:get", "GET", "/api/v1/incidents/PNOTHERE", None, "read"),
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
