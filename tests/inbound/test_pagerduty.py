"""`POST /webhooks/pagerduty`: every captured delivery accepted once; bad input rejected, nothing stored."""

import json
import re

import pytest
import sqlalchemy as sa

from app.integrations.pagerduty.signature import sign
from tests.support.constants import ADMIN, PD_SECRET
from tests.support.db import count_rows
from tests.support.pagerduty import delivery_fixtures, fixture_bytes, post_delivery

DELIVERIES = delivery_fixtures()


@pytest.mark.parametrize("path", DELIVERIES, ids=[p.name for p in DELIVERIES])
async def test_every_fixture_delivery_is_accepted_and_mapped(client, runtime, path):
    raw = path.read_bytes()
    event = json.loads(raw)["event"]
    first = await post_delivery(client, raw)
    assert first.status_code == 202, first.text
    assert first.json() == {"status": "accepted"}
    again = await post_delivery(client, raw)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    await runtime.queue.drain()

    async with runtime.engine.connect() as connection:
        row = (await connection.execute(sa.text("SELECT event_type, handled_at, error FROM inbound_events"))).one()
    assert row.event_type == event["event_type"]
    assert row.handled_at is not None and row.error is None

    data = event.get("data") or {}
    incident_ref = data if data.get("type") == "incident" else data.get("incident")
    if event["event_type"].startswith("incident.") and incident_ref:
        response = await client.get(f"/api/v1/incidents/{incident_ref['id']}", headers=ADMIN)
        assert response.status_code == 200
        incident = response.json()
        assert incident["external_id"] == incident_ref["id"]
        if data.get("type") == "incident":
            assert incident["title"] == data["title"]
            assert incident["status"] == data["status"]
            assert incident["service_id"] == data["service"]["id"]
    else:
        assert await count_rows(runtime, "incidents") == 0


async def test_the_merge_resolve_points_at_its_target(client, runtime):
    await post_delivery(client, fixture_bytes("webhook_incident_resolved_merged.json"))
    await runtime.queue.drain()
    merged = json.loads(fixture_bytes("webhook_incident_resolved_merged.json"))["event"]["data"]
    incident = (await client.get(f"/api/v1/incidents/{merged['id']}", headers=ADMIN)).json()
    assert incident["status"] == "resolved"
    assert incident["merged_into_external_id"] == merged["resolve_reason"]["incident"]["id"]


async def assert_nothing_stored(runtime):
    assert await count_rows(runtime, "inbound_events") == 0
    assert await count_rows(runtime, "incidents") == 0


async def test_a_forged_signature_is_401_and_stores_nothing(client, runtime):
    raw = fixture_bytes("resolved_v3.json")
    response = await post_delivery(client, raw, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    missing = await client.post("/webhooks/pagerduty", content=raw, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    await assert_nothing_stored(runtime)


async def test_a_truncated_body_is_rejected_and_stores_nothing(client, runtime):
    raw = fixture_bytes("resolved_v3.json")
    truncated = raw[: len(raw) // 2]
    # Cut in transit: the signature of the whole body no longer matches.
    cut = await post_delivery(client, truncated, signature=sign(raw, PD_SECRET.encode()))
    assert cut.status_code == 401
    # Signed as truncated: the signature holds, but the body is not JSON.
    signed = await post_delivery(client, truncated)
    assert signed.status_code == 400
    assert "not valid JSON" in signed.json()["message"]
    await assert_nothing_stored(runtime)


async def test_a_300_kb_body_is_413_and_stores_nothing(client, runtime):
    event = json.loads(fixture_bytes("resolved_v3.json"))
    event["event"]["data"]["description"] = "x" * 300_000
    response = await post_delivery(client, event)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    await assert_nothing_stored(runtime)


async def test_size_is_checked_while_reading_even_without_content_length(client, runtime):
    async def chunks():
        for _ in range(40):
            yield b"x" * 10_000

    response = await client.post("/webhooks/pagerduty", content=chunks(),
                                 headers={"X-PagerDuty-Signature": "v1=00"})
    assert response.status_code == 413
    await assert_nothing_stored(runtime)


@pytest.mark.parametrize("body,message", [
    (b"not json at all", "not valid JSON"),
    ('{"event": {"id": "E1", "event_type": "incident.triggered"}}'.encode("utf-16"), "not valid JSON"),
    (b"[1, 2, 3]", "'event' object"),
    (b'{"messages": []}', "'event' object"),
    (b'{"event": {"event_type": "incident.triggered"}}', "event.id"),
    (b'{"event": {"id": "E1", "event_type": ""}}', "event.event_type"),
    (b'{"event": {"id": "E1", "event_type": "incident.triggered", "occurred_at": "yesterday"}}', "occurred_at"),
    (b'{"event": {"id": "E1", "event_type": "incident.triggered", "data": [1]}}', "event.data"),
    (b'{"event": {"id": "E\\u00001", "event_type": "incident.triggered"}}', "event.id' must be printable"),
])
async def test_non_json_or_non_v3_bodies_are_400_with_a_reason(client, runtime, body, message):
    response = await post_delivery(client, body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    await assert_nothing_stored(runtime)


async def test_without_configured_secrets_every_delivery_is_refused(client, runtime):
    runtime.settings = runtime.settings.model_copy(update={"pagerduty_webhook_secrets": []})
    response = await post_delivery(client, fixture_bytes("triggered_v3.json"))
    assert response.status_code == 401
    assert "LOOPGATE_PAGERDUTY_WEBHOOK_SECRETS" in response.json()["message"]
    await assert_nothing_stored(runtime)


async def test_the_webhook_id_header_is_recorded(client, runtime):
    raw = fixture_bytes("triggered_v3.json")
    await client.post("/webhooks/pagerduty", content=raw, headers={
        "X-PagerDuty-Signature": sign(raw, PD_SECRET.encode()), "X-Webhook-Id": "wh-123"})
    async with runtime.engine.connect() as connection:
        assert (await connection.execute(sa.text("SELECT delivery_id FROM inbound_events"))).scalar_one() == "wh-123"


async def test_a_delivery_the_database_refuses_fails_alone(app, runtime):
    import asyncio

    import httpx

    events = [json.loads(fixture_bytes("triggered_v3.json")) for _ in range(4)]
    for n, event in enumerate(events):
        event["event"]["id"] = f"GOOD{n}" if n != 2 else "POISON"
    real_write = runtime.inbox._write

    async def refusing_write(deliveries):  # the database refuses one row, as it would a bad value
        if any(d.external_id == "POISON" for d in deliveries):
            raise ValueError("the database refused this row")
        return await real_write(deliveries)

    runtime.inbox._write = refusing_write
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(post_delivery(client, event) for event in events))
    assert [a.status_code for a in answers] == [202, 202, 500, 202]
    assert answers[2].json()["error"] == "internal_error"
    assert await count_rows(runtime, "inbound_events") == 3


async def test_ids_longer_than_the_inbox_stores_are_400(client, runtime):
    event = json.loads(fixture_bytes("triggered_v3.json"))
    event["event"]["id"] = "E" * 201
    response = await post_delivery(client, event)
    assert response.status_code == 400 and "event.id" in response.json()["message"]
    await assert_nothing_stored(runtime)


async def test_webhooks_are_counted_in_metrics_by_route_and_status(client):
    async def counts() -> dict[str, float]:
        text = (await client.get("/metrics")).text
        found = re.findall(r'loopgate_http_requests_total\{method="POST",route="/webhooks/pagerduty",status="(\d+)"\} (\S+)',
                           text)
        return {status: float(value) for status, value in found}

    before = await counts()
    raw = fixture_bytes("triggered_v3.json")
    await post_delivery(client, raw)
    await post_delivery(client, raw)
    await post_delivery(client, raw, signature="v1=forged")
    after = await counts()
    changed = {status: after[status] - before.get(status, 0) for status in after if after[status] != before.get(status)}
    assert changed == {"202": 1, "200": 1, "401": 1}


async def test_other_methods_on_a_webhook_are_a_json_405(client, runtime):
    response = await client.get("/webhooks/pagerduty")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"
    await assert_nothing_stored(runtime)


async def test_behind_a_path_prefix_the_router_serves_the_same_webhook(app, runtime):
    import httpx

    raw = fixture_bytes("triggered_v3.json")
    transport = httpx.ASGITransport(app=app, root_path="/loopgate")
    async with httpx.AsyncClient(transport=transport, base_url="http://t/loopgate") as client:
        first = await post_delivery(client, raw)
        forged = await post_delivery(client, raw, signature="v1=forged")
        again = await post_delivery(client, raw)
    assert (first.status_code, forged.status_code, again.status_code) == (202, 401, 200)
    assert forged.json()["error"] == "unauthorized"
    assert await count_rows(runtime, "inbound_events") == 1


async def call_raw(app, receive) -> list[dict]:
    """POST /webhooks/pagerduty as a server would call the app, message by message; what the app sent."""
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/webhooks/pagerduty", "raw_path": b"/webhooks/pagerduty", "root_path": "", "query_string": b"",
             "headers": [(b"x-pagerduty-signature", b"v1=00")], "client": ("127.0.0.1", 1), "server": ("t", 80)}
    await app(scope, receive, send)
    return sent


async def test_an_endless_body_is_cut_off_at_the_limit(app, runtime):
    pulled = 0

    async def endless():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 10_000, "more_body": True}

    sent = await call_raw(app, endless)
    assert sent[0]["status"] == 413
    assert pulled * 10_000 <= runtime.settings.max_body_bytes + 10_000  # read no further than the limit
    await assert_nothing_stored(runtime)


async def test_a_client_gone_mid_body_gets_no_answer_and_stores_nothing(app, runtime):
    messages = iter([{"type": "http.request", "body": fixture_bytes("triggered_v3.json")[:100], "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    assert await call_raw(app, receive) == []
    await assert_nothing_stored(runtime)


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"], ids=["nul", "lone-surrogate"])
async def test_text_no_database_can_store_is_replaced_not_refused(client, runtime, escape):
    """Valid JSON that PostgreSQL (NUL in jsonb and text) or UTF-8 (a lone surrogate) cannot hold."""
    event = json.loads(fixture_bytes("triggered_v3.json"))
    incident_id = event["event"]["data"]["id"]
    raw = json.dumps(event).replace('"title": "', f'"title": "db{escape}1 ', 1).encode()
    assert escape.encode() in raw
    response = await post_delivery(client, raw)
    assert response.status_code == 202, response.text
    await runtime.queue.drain()
    async with runtime.engine.connect() as connection:
        row = (await connection.execute(sa.text("SELECT handled_at, error FROM inbound_events"))).one()
    assert row.error is None and row.handled_at is not None
    incident = (await client.get(f"/api/v1/incidents/{incident_id}", headers=ADMIN)).json()
    assert incident["title"].startswith("db\ufffd1 ")
