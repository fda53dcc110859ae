"""POST/GET/DELETE /api/v1/subscriptions: admin only, URL and events checked, the secret shown once."""

import pytest

from app.core.settings import Settings
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.notifications import SECRET, subscribe


async def test_create_list_get_delete(client, runtime):
    created = await subscribe(client, "http://10.1.2.3:8080/hooks", events=["postmortem.published", "gate.failed"],
                              format="slack", teams=["Payments"], severities=["critical"])
    assert created["secret"] == SECRET
    assert created["events"] == ["postmortem.published", "gate.failed"]
    assert (created["format"], created["teams"], created["severities"], created["services"]) == (
        "slack", ["Payments"], ["critical"], [])
    listed = (await client.get("/api/v1/subscriptions", headers=ADMIN)).json()
    assert [s["id"] for s in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    one = (await client.get(f"/api/v1/subscriptions/{created['id']}", headers=ADMIN)).json()
    assert one["url"] == "http://10.1.2.3:8080/hooks" and "secret" not in one
    deleted = await client.delete(f"/api/v1/subscriptions/{created['id']}", headers=ADMIN)
    assert deleted.status_code == 200
    assert (await client.get(f"/api/v1/subscriptions/{created['id']}", headers=ADMIN)).status_code == 404
    assert (await client.delete(f"/api/v1/subscriptions/{created['id']}", headers=ADMIN)).status_code == 404


async def test_a_secret_is_generated_when_none_is_given(client):
    response = await client.post("/api/v1/subscriptions", headers=ADMIN,
                                 json={"url": "https://hooks.example.com/x", "events": ["digest.weekly"]})
    assert response.status_code == 201, response.text
    assert response.json()["secret"].startswith("whsec_")
    assert len(response.json()["secret"]) > 40


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.com/x", "events": ["gate.failed"]}, "body.url"),
    ({"url": "/relative/path", "events": ["gate.failed"]}, "body.url"),
    ({"url": "http://example.com:99999/x", "events": ["gate.failed"]}, "body.url"),
    ({"url": "https://example.com/x", "events": ["gate.exploded"]}, "body.events.0"),
    ({"url": "https://example.com/x", "events": []}, "body.events"),
    ({"url": "https://example.com/x", "events": ["gate.failed"], "format": "teams"}, "body.format"),
    ({"url": "https://example.com/x", "events": ["gate.failed"], "secret": "hunter2"}, "body.secret"),
    ({"url": "https://example.com/x", "events": ["gate.failed"], "secret": "whsec_c2hvcnQ="}, "body.secret"),
])
async def test_bad_input_is_a_clear_422_and_stores_nothing(client, runtime, body, field):
    response = await client.post("/api/v1/subscriptions", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert set(answer) >= {"error", "message", "details"}
    assert field in [d["field"] for d in answer["details"]], answer
    assert await count_rows(runtime, "subscriptions") == 0


async def test_allowed_hosts_restrict_subscriber_urls(client, runtime):
    runtime.settings = runtime.settings.model_copy(update={"subscription_allowed_hosts": ["hooks.slack.com",
                                                                                          "*.internal.example"]})
    refused = await client.post("/api/v1/subscriptions", headers=ADMIN,
                                json={"url": "http://127.0.0.1/x", "events": ["gate.failed"]})
    assert refused.status_code == 422
    assert refused.json()["error"] == "subscription_url_not_allowed"
    assert "127.0.0.1" in refused.json()["message"]
    for url in ("https://hooks.slack.com/services/T0/B0/x", "https://ci.internal.example/hook"):
        assert (await client.post("/api/v1/subscriptions", headers=ADMIN,
                                  json={"url": url, "events": ["gate.failed"]})).status_code == 201
    assert await count_rows(runtime, "subscriptions") == 2


def test_allowed_hosts_come_from_a_comma_list(monkeypatch):
    monkeypatch.setenv("LOOPGATE_SUBSCRIPTION_ALLOWED_HOSTS", "hooks.slack.com, *.corp.example")
    assert Settings().subscription_allowed_hosts == ["hooks.slack.com", "*.corp.example"]


async def test_admin_only(client):
    created = await client.post("/api/v1/tokens", headers=ADMIN, json={"name": "writer", "scopes": ["write"]})
    writer = {"Authorization": f"Bearer {created.json()['token']}"}
    assert (await client.get("/api/v1/subscriptions", headers=writer)).status_code == 403
    assert (await client.post("/api/v1/subscriptions", headers=writer,
                              json={"url": "https://example.com", "events": ["gate.failed"]})).status_code == 403
    assert (await client.get("/api/v1/subscriptions")).status_code == 401
