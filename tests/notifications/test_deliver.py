"""The outbox and the `deliver` job: signed POSTs, retries with back-off, exactly one success, the 24 h give-up."""

import json
from datetime import timedelta

import httpx
import pytest
import respx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.notifications.delivery import RETRY_DELAYS, retry_delay
from app.runtime import JOBS
from tests.support.notifications import SECRET, deliveries, delivery_log, resolve_incident, subscribe, sweep
from tests.support.receiver import receiver


async def test_signature_verifies_with_the_standard_webhooks_reference(client, runtime):
    """Wall clock here: the reference verifier also checks the timestamp against the time now."""
    with receiver() as subscriber:
        await subscribe(client, subscriber.url)
        await resolve_incident(client, runtime)
    [request] = subscriber.received
    verified = Webhook(SECRET).verify(request.body, request.headers)
    assert verified["type"] == "incident.resolved"
    assert set(verified) == {"id", "type", "occurred_at", "data"}
    assert request.headers["webhook-id"] == verified["id"]
    assert verified["data"]["incident"]["external_id"] == "PINC0001"
    assert verified["data"]["incident"]["status"] == "resolved"
    # The verifier is not a rubber stamp: a changed body or another secret fails it.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b"PINC0001", b"PINC0002"), request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(request.body, request.headers)
    [logged] = await delivery_log(client, (await client.get("/api/v1/subscriptions", headers={
        "Authorization": "Bearer test-admin-token"})).json()["items"][0]["id"])
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == ("delivered", 1, 200)
    assert logged["next_attempt_at"] is None


async def test_fails_twice_then_succeeds_delivers_exactly_once(client, runtime, clock):
    with receiver(script=[500, 503]) as subscriber:
        subscription = await subscribe(client, subscriber.url)
        await resolve_incident(client, runtime)
        assert [r.answered for r in subscriber.received] == [500]
        [pending] = await delivery_log(client, subscription["id"])
        assert (pending["status"], pending["attempts"], pending["last_status_code"]) == ("pending", 1, 500)
        # Not due yet: the sweeper leaves it alone.
        clock.advance(seconds=RETRY_DELAYS[0] * 0.79)
        await sweep(runtime)
        assert len(subscriber.received) == 1
        clock.advance(seconds=RETRY_DELAYS[0] * 0.42)
        await sweep(runtime)
        assert [r.answered for r in subscriber.received] == [500, 503]
        clock.advance(seconds=RETRY_DELAYS[1] * 1.21)
        await sweep(runtime)
        # Later sweeps and a job run twice find nothing left to do.
        for _ in range(3):
            clock.advance(hours=2)
            await sweep(runtime)
        [row] = await deliveries(runtime)
        await JOBS["deliver"](runtime.ctx, str(row.id))
    assert [r.answered for r in subscriber.received] == [500, 503, 200]
    assert len({r.headers["webhook-id"] for r in subscriber.received}) == 1  # one message, tried three times
    [done] = await delivery_log(client, subscription["id"])
    assert (done["status"], done["attempts"], done["last_status_code"], done["last_error"]) == (
        "delivered", 3, 200, None)


async def test_a_subscriber_that_is_down_is_retried_then_given_up_after_24_hours(client, runtime, clock):
    with receiver() as subscriber:
        url = subscriber.url  # the port is closed once the block ends: connection refused
    subscription = await subscribe(client, url)
    await resolve_incident(client, runtime)
    start = clock.current
    [row] = await deliveries(runtime)
    assert row.status == "pending" and "ConnectError" in row.last_error
    while clock.current < start + timedelta(hours=25):
        clock.advance(minutes=7)
        await sweep(runtime)
    [gone] = await delivery_log(client, subscription["id"])
    assert gone["status"] == "gave_up"
    assert "ConnectError" in gone["last_error"]
    # 10 s, 30 s, 2 min, 10 min, 30 min, then hourly (±20 %) to 24 h: 5 + about 23 hourly + the last at 24 h.
    assert 26 <= gone["attempts"] <= 36, gone["attempts"]
    assert gone["gave_up_at"] is not None
    attempts = gone["attempts"]
    clock.advance(days=2)
    await sweep(runtime)
    assert (await delivery_log(client, subscription["id"]))[0]["attempts"] == attempts


async def test_a_timeout_is_a_failed_attempt(client, runtime, clock):
    runtime.settings = runtime.settings.model_copy(update={"subscription_timeout_seconds": 0.3})
    await runtime.subscribers.aclose()
    runtime.subscribers = httpx.AsyncClient(timeout=0.3)  # as open_runtime builds it with this setting
    with receiver(delay_seconds=1.0) as subscriber:
        subscription = await subscribe(client, subscriber.url)
        await resolve_incident(client, runtime)
    [row] = await delivery_log(client, subscription["id"])
    assert row["status"] == "pending" and row["last_status_code"] is None
    assert "Timeout" in row["last_error"]


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_slack_format_posts_readable_text(client, runtime, respx_mock):
    route = respx_mock.post("https://hooks.slack.com/services/T0/B0/x").mock(return_value=httpx.Response(200))
    await subscribe(client, "https://hooks.slack.com/services/T0/B0/x", format="slack")
    await resolve_incident(client, runtime)
    body = json.loads(route.calls.last.request.content)
    assert set(body) == {"text"}
    assert body["text"].startswith("*Incident resolved*\nCheckout API p99 latency > 2s")
    assert "webhook-signature" not in route.calls.last.request.headers


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_filters_and_event_types_choose_the_subscribers(client, runtime, respx_mock):
    hit = {name: respx_mock.post(f"https://{name}.example/hook").mock(return_value=httpx.Response(204))
           for name in ("all", "payments", "search", "critical", "other_events")}
    await subscribe(client, "https://all.example/hook")
    await subscribe(client, "https://payments.example/hook", teams=["payments"], services=["PSV81QA"])
    await subscribe(client, "https://search.example/hook", teams=["Search"])
    await subscribe(client, "https://critical.example/hook", severities=["critical"])
    await subscribe(client, "https://other_events.example/hook", events=["digest.weekly"])
    await resolve_incident(client, runtime)
    assert {name: route.call_count for name, route in hit.items()} == {
        "all": 1, "payments": 1, "search": 0, "critical": 1, "other_events": 0}


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_a_redirect_is_not_a_delivery(client, runtime, respx_mock):
    respx_mock.post("https://moved.example/hook").mock(
        return_value=httpx.Response(301, headers={"location": "https://elsewhere.example/"}))
    subscription = await subscribe(client, "https://moved.example/hook")
    await resolve_incident(client, runtime)
    [row] = await delivery_log(client, subscription["id"])
    assert (row["status"], row["last_status_code"]) == ("pending", 301)


async def test_nothing_is_written_without_a_matching_subscription(client, runtime):
    await resolve_incident(client, runtime)
    assert await deliveries(runtime) == []


def test_retry_schedule_and_jitter():
    for attempts, base in [(1, 10), (2, 30), (3, 120), (4, 600), (5, 1800), (6, 3600), (30, 3600)]:
        delays = [retry_delay(attempts) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert max(delays) - min(delays) > base * 0.2  # jittered, not fixed


def test_every_event_type_has_a_slack_heading():
    from app.models.notifications import EventType
    from app.notifications.slack import HEADINGS, text

    assert set(HEADINGS) == set(EventType)
    assert text({"type": "digest.weekly", "data": {"summary": "Week 2026-W48: 3 new findings",
                                                   "lines": ["technical: canary"]}}) == (
        "*Weekly learning digest*\nWeek 2026-W48: 3 new findings\n• technical: canary")
