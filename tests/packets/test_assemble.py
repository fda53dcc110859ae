"""Event Packet assembly against the PagerDuty stand-in, over a real TLS socket."""

import hashlib
import json
from datetime import datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from app.main import create_app
from app.packets.jobs import assemble_packet
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, post_delivery
from tests.support.standins import PagerDutyStandIn, make_alert, make_lifecycle, make_log_entry

INCIDENT = "Q2W7ZL4MB6XN0T"
START = datetime.fromisoformat("2026-11-20T08:00:00+00:00")


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def pd():
    with PagerDutyStandIn() as standin:
        yield standin


@pytest.fixture
def standin(pd):
    pd.clear()
    yield pd
    pd.clear()


@pytest.fixture
async def pd_client(settings, standin):
    """The app, configured to read the stand-in PagerDuty; fast retries."""
    configured = settings.model_copy(update={
        "pagerduty_api_url": standin.url, "pagerduty_api_token": SecretStr(standin.token), "ca_bundle": standin.ca_bundle_path,
        "pagerduty_max_attempts": 3, "pagerduty_backoff_seconds": 0.01, "pagerduty_timeout_seconds": 5,
    })
    app = create_app(configured)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.runtime = app.state.runtime
            yield client


def add_incident(standin, *, log_pages: int = 1, alert_pages: int = 1, notes: int = 2):
    lifecycle = make_lifecycle(INCIDENT, created_at=at(0), n_alerts=1, n_notes=notes)
    entries = lifecycle["log_entries"]
    resolve = entries.pop()
    extra = log_pages * 100 - 50 - len(entries) - 1
    entries += [make_log_entry("notify", incident_id=INCIDENT, created_at=at(20 + i * 0.001),
                               user=("PUSER9", "Sam Rivera")) for i in range(extra)]
    entries.append(resolve)
    lifecycle["alerts"] = [make_alert(incident_id=INCIDENT, created_at=at(i * 0.01)) for i in range(alert_pages * 100 - 50)]
    standin.add_incident(**lifecycle)
    return lifecycle


async def resolve_through_webhooks(client, *, resolved_minute: float = 44):
    for event in (
        incident_event("E1", "incident.triggered", at(0), INCIDENT, agent_type="service_reference", priority="P1"),
        incident_event("E2", "incident.acknowledged", at(3.01), INCIDENT, status="acknowledged", priority="P1"),
        incident_event("E3", "incident.resolved", at(resolved_minute), INCIDENT, status="resolved", priority="P1"),
    ):
        assert (await post_delivery(client, event)).status_code == 202
        await client.runtime.queue.drain()  # in order, as PagerDuty sends them


async def packet(client, version: int | None = None) -> dict:
    suffix = f"?version={version}" if version else ""
    response = await client.get(f"/api/v1/incidents/{INCIDENT}/packet{suffix}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def canonical(body: dict) -> str:
    keys = ("timeline", "alerts", "notes", "responders", "decision_points", "impact", "similar_incidents", "gaps")
    content = {key: body[key] for key in keys}
    return content


async def test_three_pages_of_log_entries_and_two_of_alerts_give_a_complete_packet(pd_client, standin):
    lifecycle = add_incident(standin, log_pages=3, alert_pages=2)
    await resolve_through_webhooks(pd_client)
    body = await packet(pd_client)

    assert body["status"] == "complete" and body["gaps"] == []
    assert body["version"] == 1 and body["reason"] == "resolved"
    logged = {item["id"] for item in body["timeline"] if item["source"] == "log_entry"}
    assert logged == {entry["id"] for entry in lifecycle["log_entries"]} and len(logged) == 250
    assert standin.count("/log_entries") == 3 and standin.count("/alerts") == 2
    assert len(body["alerts"]) == 150
    assert [n["content"] for n in body["notes"]] == [n["content"] for n in lifecycle["notes"]]
    # The webhook's trigger, ack and resolve are the same moments as log entries: each appears once.
    assert [item["type"] for item in body["timeline"]].count("acknowledged") == 1
    assert [item["type"] for item in body["timeline"]].count("resolved") == 1
    times = [datetime.fromisoformat(item["at"]) for item in body["timeline"]]
    assert times == sorted(times)
    names = {person["name"]: person["roles"] for person in body["responders"]}
    assert "acknowledged" in names["Dana Whitfield"] and "notified" in names["Sam Rivera"]
    assert {d["type"] for d in body["decision_points"]} >= {"escalated", "reassigned", "resolved", "urgency_changed"}
    assert body["impact"]["severity"] == "critical"
    assert body["impact"]["duration_seconds"] == 44 * 60
    resolved_at = datetime.fromisoformat(at(44))
    assert datetime.fromisoformat(body["sla_due_at"]) == resolved_at + timedelta(hours=24)
    digest = hashlib.sha256(json.dumps(canonical(body), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).hexdigest()
    assert body["sha256"] == digest
    assert body["versions"] == [{"version": 1, "status": "complete", "assembled_at": body["assembled_at"]}]


async def test_a_429_is_waited_out_then_the_packet_completes(pd_client, standin):
    add_incident(standin)
    standin.fail_next("/log_entries", 429, headers={"ratelimit-reset": "1"})
    await resolve_through_webhooks(pd_client)
    body = await packet(pd_client)
    assert body["status"] == "complete"
    assert standin.count("/log_entries") == 2  # the 429, then the retry


async def test_pagerduty_down_gives_a_partial_packet_that_says_what_is_missing(pd_client, standin):
    add_incident(standin)
    standin.down = True
    await resolve_through_webhooks(pd_client)
    body = await packet(pd_client)
    assert body["status"] == "partial"
    assert {gap["what"] for gap in body["gaps"]} == {"incident", "log_entries", "alerts", "notes"}
    assert all("HTTP 503 after 3 attempts" in gap["reason"] for gap in body["gaps"])
    assert standin.count("/log_entries") == 3  # retried up to the cap
    # The webhook facts are still there.
    assert [item["type"] for item in body["timeline"]] == ["triggered", "acknowledged", "resolved"]


async def test_a_failure_mid_list_keeps_the_pages_read_and_names_the_offset(pd_client, standin):
    add_incident(standin, log_pages=3)
    standin.fail_next("offset=100", 500, count=3)
    await resolve_through_webhooks(pd_client)
    body = await packet(pd_client)
    assert body["status"] == "partial"
    [gap] = body["gaps"]
    assert gap["what"] == "log_entries" and "offset 100" in gap["reason"] and "HTTP 500" in gap["reason"]
    assert sum(item["source"] == "log_entry" for item in body["timeline"]) == 100


async def test_the_job_run_twice_gives_one_version(pd_client, standin):
    add_incident(standin)
    await resolve_through_webhooks(pd_client)
    first = await packet(pd_client)
    calls = len(standin.requests)
    async with pd_client.runtime.engine.connect() as connection:
        from sqlalchemy import text

        packet_id = (await connection.execute(text("SELECT id FROM event_packets"))).scalar_one()
    await assemble_packet(pd_client.runtime.ctx, str(packet_id))
    await assemble_packet(pd_client.runtime.ctx, str(packet_id))
    assert await count_rows(pd_client.runtime, "event_packets") == 1
    assert len(standin.requests) == calls
    assert (await packet(pd_client))["sha256"] == first["sha256"]


async def test_a_statement_makes_version_2_with_the_same_facts_plus_the_statement(pd_client, standin):
    add_incident(standin)
    await resolve_through_webhooks(pd_client)
    first = await packet(pd_client)
    response = await pd_client.post(f"/api/v1/incidents/{INCIDENT}/packet/statements", headers=ADMIN,
                                    json={"author": "Head of Payments", "text": "1,200 checkouts were delayed."})
    assert response.status_code == 202
    assert response.json()["version"] == 2
    await pd_client.runtime.queue.drain()
    second = await packet(pd_client)
    assert second["version"] == 2 and second["status"] == "complete"
    for key in ("timeline", "alerts", "notes", "responders", "decision_points"):
        assert second[key] == first[key], key
    assert [s["text"] for s in second["impact"]["statements"]] == ["1,200 checkouts were delayed."]
    assert second["sha256"] != first["sha256"]
    assert await packet(pd_client, version=1) == {**first, "versions": second["versions"]}


async def test_rebuild_makes_a_new_version(pd_client, standin):
    add_incident(standin)
    await resolve_through_webhooks(pd_client)
    response = await pd_client.post(f"/api/v1/incidents/{INCIDENT}/packet/rebuild", headers=ADMIN)
    assert response.status_code == 202 and response.json()["version"] == 2
    await pd_client.runtime.queue.drain()
    assert [v["version"] for v in (await packet(pd_client))["versions"]] == [1, 2]


async def test_without_a_token_the_packet_comes_from_webhooks_and_says_so(client, runtime):
    await resolve_through_webhooks_default(client, runtime)
    body = await packet(client)
    assert body["status"] == "partial"
    assert "no API token" in body["gaps"][0]["reason"]
    assert [item["source"] for item in body["timeline"]] == ["webhook"] * 3


async def resolve_through_webhooks_default(client, runtime):
    client.runtime = runtime
    await resolve_through_webhooks(client)


async def test_no_packet_before_a_resolve_and_unknown_versions_are_404(client, runtime):
    await post_delivery(client, incident_event("E1", "incident.triggered", at(0), INCIDENT))
    await runtime.queue.drain()
    missing = await client.get(f"/api/v1/incidents/{INCIDENT}/packet", headers=ADMIN)
    assert missing.status_code == 404 and "no Event Packet" in missing.json()["message"]
    await post_delivery(client, incident_event("E2", "incident.resolved", at(5), INCIDENT, status="resolved"))
    await runtime.queue.drain()
    assert (await client.get(f"/api/v1/incidents/{INCIDENT}/packet?version=7", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/incidents/PNOPE/packet", headers=ADMIN)).status_code == 404


async def test_a_merge_resolve_builds_no_packet_and_a_reopened_resolve_builds_another(client, runtime):
    merge = incident_event("M1", "incident.resolved", at(5), "PMERGED", status="resolved",
                           resolve_reason={"type": "merge_resolve_reason",
                                           "incident": {"id": INCIDENT, "type": "incident_reference"}})
    await post_delivery(client, merge)
    await runtime.queue.drain()
    for event in (incident_event("E1", "incident.triggered", at(0), INCIDENT),
                  incident_event("E2", "incident.resolved", at(5), INCIDENT, status="resolved"),
                  incident_event("E3", "incident.reopened", at(6), INCIDENT, status="triggered"),
                  incident_event("E4", "incident.resolved", at(9), INCIDENT, status="resolved")):
        await post_delivery(client, event)
        await runtime.queue.drain()  # in order, as PagerDuty sends them
    assert (await client.get("/api/v1/incidents/PMERGED/packet", headers=ADMIN)).status_code == 404
    body = await packet(client)
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["impact"]["duration_seconds"] == 9 * 60


async def test_similar_incidents_share_the_fingerprint_within_the_lookback(client, runtime):
    earlier = incident_event("P1", "incident.triggered", at(-60 * 24 * 10), "PEARLIER", title="DB-42 latency 300ms")
    long_ago = incident_event("P2", "incident.triggered", at(-60 * 24 * 200), "PLONGAGO", title="DB-7 latency 9ms")
    other = incident_event("P3", "incident.triggered", at(-60), "POTHER", title="Disk full on db-1")
    for event in (earlier, long_ago, other,
                  incident_event("E1", "incident.triggered", at(0), INCIDENT, title="DB-1 latency 2ms"),
                  incident_event("E2", "incident.resolved", at(5), INCIDENT, status="resolved",
                                 title="DB-1 latency 2ms")):
        await post_delivery(client, event)
        await runtime.queue.drain()  # the past incidents exist before this one resolves
    similar = (await packet(client))["similar_incidents"]
    assert [s["external_id"] for s in similar] == ["PEARLIER"]
    assert similar[0]["title"] == "DB-42 latency 300ms"
    assert similar[0]["open_action_items"] == [] and similar[0]["overdue_action_items"] == []


async def test_similar_incidents_carry_their_postmortem_and_its_open_and_overdue_action_items(client, runtime, clock):
    from tests.support.factories import add_action_item, add_finding, make_postmortem

    clock.set(datetime.fromisoformat("2026-11-21T12:00:00+00:00"))
    await post_delivery(client, incident_event("P1", "incident.triggered", at(-60 * 24 * 10), "PEARLIER",
                                               title="DB-42 latency 300ms"))
    await runtime.queue.drain()
    earlier = (await client.get("/api/v1/incidents/PEARLIER", headers=ADMIN)).json()
    postmortem = await make_postmortem(client, [earlier["id"]])
    finding = await add_finding(client, postmortem["id"])
    late = await add_action_item(client, finding["id"], title="Add a latency SLO", due_date="2026-11-01")
    pending = await add_action_item(client, finding["id"], title="Alert on pool saturation", due_date="2026-12-20")
    done = await add_action_item(client, finding["id"], title="Raise the pool size", due_date="2026-11-01")
    await client.patch(f"/api/v1/action-items/{done['id']}", headers=ADMIN, json={"status": "completed"})

    for event in (incident_event("E1", "incident.triggered", at(0), INCIDENT, title="DB-1 latency 2ms"),
                  incident_event("E2", "incident.resolved", at(5), INCIDENT, status="resolved",
                                 title="DB-1 latency 2ms")):
        await post_delivery(client, event)
        await runtime.queue.drain()
    [similar] = (await packet(client))["similar_incidents"]
    assert similar["postmortem_id"] == postmortem["id"]
    assert [i["id"] for i in similar["open_action_items"]] == [late["id"], pending["id"]]
    assert [i["id"] for i in similar["overdue_action_items"]] == [late["id"]]


async def test_concurrent_rebuilds_get_distinct_versions(client, runtime):
    import asyncio

    for event in (incident_event("E1", "incident.triggered", at(0), INCIDENT),
                  incident_event("E2", "incident.resolved", at(5), INCIDENT, status="resolved")):
        await post_delivery(client, event)
        await runtime.queue.drain()
    answers = await asyncio.gather(*(client.post(f"/api/v1/incidents/{INCIDENT}/packet/rebuild", headers=ADMIN)
                                     for _ in range(5)))
    assert [a.status_code for a in answers] == [202] * 5
    assert sorted(a.json()["version"] for a in answers) == [2, 3, 4, 5, 6]
