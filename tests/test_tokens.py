"""API tokens: created by an admin, secret shown once, only a hash stored, revocable, audited."""

import hashlib
import json
import os
import subprocess
import sys

import sqlalchemy as sa

from tests.support.constants import ADMIN
from tests.support.db import count_rows


async def create_token(client, *scopes: str, name: str = "ci") -> dict:
    response = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return response.json()


async def test_admin_creates_a_token_whose_secret_is_shown_once_and_stored_as_a_hash(client, runtime):
    created = await create_token(client, "read", "gates:read")
    assert set(created) == {"id", "name", "scopes", "token"}
    assert created["scopes"] == ["gates:read", "read"]
    async with runtime.engine.connect() as connection:
        stored = (await connection.execute(sa.text("SELECT * FROM api_tokens"))).mappings().one()
    assert created["token"] not in {str(v) for v in stored.values()}
    assert stored["secret_sha256"] == hashlib.sha256(created["token"].encode()).hexdigest()


async def test_a_token_works_records_last_use_and_stops_working_when_revoked(client, runtime, clock):
    created = await create_token(client, "read")
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 200
    async with runtime.engine.connect() as connection:
        last_used = (await connection.execute(sa.text("SELECT last_used_at FROM api_tokens"))).scalar_one()
    assert last_used is not None

    revoked = await client.delete(f"/api/v1/tokens/{created['id']}", headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    denied = await client.get("/api/v1/incidents", headers=headers)
    assert denied.status_code == 401
    assert denied.json()["error"] == "unauthorized"


async def test_every_token_mutation_leaves_an_audit_entry(client, runtime):
    created = await create_token(client, "write", name="portal")
    await client.delete(f"/api/v1/tokens/{created['id']}", headers=ADMIN)
    async with runtime.engine.connect() as connection:
        rows = (await connection.execute(sa.text("SELECT actor, action, entity_id FROM audit_entries ORDER BY at"))).all()
    assert [(actor, action) for actor, action, _ in rows] == [("admin-token", "token.created"),
                                                              ("admin-token", "token.revoked")]
    assert {entity_id for *_, entity_id in rows} == {created["id"]}


async def test_a_name_postgresql_cannot_store_is_a_422_and_nothing_is_stored(client, runtime):
    # Found by schemathesis on PostgreSQL: a NUL in the name was a 500.
    for name in ("\u0000", "a\udbe6b"):
        response = await client.post("/api/v1/tokens", headers={**ADMIN, "Content-Type": "application/json"},
                                     content=json.dumps({"name": name, "scopes": ["read"]}))
        assert response.status_code == 422 and response.json()["details"][0]["field"] == "body.name"
    assert await count_rows(runtime, "api_tokens") == 0


async def test_unknown_token_id_is_a_404(client):
    response = await client.delete("/api/v1/tokens/8a6e0804-2bd0-4672-b79a-d97b65d92f51", headers=ADMIN)
    assert response.status_code == 404


async def test_missing_and_wrong_tokens_are_401(client):
    assert (await client.get("/api/v1/incidents")).status_code == 401
    response = await client.get("/api/v1/incidents", headers={"Authorization": "Bearer lg_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_cli_creates_a_token_the_api_accepts(client, runtime, settings):
    env = {**os.environ, "LOOPGATE_DATABASE_URL": settings.database_url}
    result = subprocess.run([sys.executable, "-m", "app.cli", "token", "create", "--name", "ops", "--scopes",
                             "read,gates:read"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    secret = json.loads(result.stdout)["token"]
    response = await client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert await count_rows(runtime, "api_tokens") == 1


def test_cli_refuses_unknown_scopes():
    result = subprocess.run([sys.executable, "-m", "app.cli", "token", "create", "--name", "x", "--scopes", "root"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "LOOPGATE_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
    assert result.returncode == 2
    assert "unknown scopes" in result.stderr
