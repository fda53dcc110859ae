"""packet_sla, digests and patterns: each announced once per packet, period or pattern, however often the jobs run."""

import json
from datetime import UTC, datetime

import httpx
import respx

from app.runtime import JOBS
from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, add_finding, make_incident, make_postmortem, move
from tests.support.notifications import resolve_incident, subscribe

HOOK = "https://hooks.example/scheduled"


def bodies(route) -> list[dict]:
    return [json.loads(call.request.content) for call in route.calls]


async def run(runtime, job: str, times: int = 2) -> None:
    for _ in range(times):
        await JOBS[job](runtime.ctx)
        await runtime.queue.drain()


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_packet_sla_breach_is_announced_once_per_packet(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["packet.sla_breached"])
    clock.set(datetime(2026, 11, 20, 11, 0, tzinfo=UTC))
    await resolve_incident(client, runtime, "PONTIME", title="Assembled at once")  # its packet is ready now
    submit = runtime.queue.submit
    runtime.queue.submit = lambda job: None if job.name == "assemble_packet" else submit(job)  # a lost job
    await resolve_incident(client, runtime, "PLATE", title="Assembly lost")
    runtime.queue.submit = submit
    clock.set(datetime(2026, 11, 21, 10, 0, tzinfo=UTC))  # both due at 10:30
    await run(runtime, "packet_sla")
    assert route.call_count == 0
    clock.set(datetime(2026, 11, 21, 11, 0, tzinfo=UTC))
    await run(runtime, "packet_sla")
    [breach] = bodies(route)
    assert breach["type"] == "packet.sla_breached"
    assert breach["data"]["incident"]["external_id"] == "PLATE"
    assert breach["data"]["packet"]["status"] == "pending"
    clock.set(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    await run(runtime, "packet_sla")
    assert route.call_count == 1


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_digests_and_patterns_once_per_period(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["digest.weekly", "digest.monthly", "pattern.detected"])
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday of ISO week 48
    findings = []
    for n in range(3):
        incident = await make_incident(client, runtime, f"PDG{n}")
        postmortem = await make_postmortem(client, [incident], title=f"Canary gap {n}")
        findings.append(await add_finding(client, postmortem["id"], tags=["canary"]))
    assert (await move(client, postmortem["id"], "in_review", "published")).status_code == 200
    done = await add_action_item(client, findings[0]["id"], title="Watch p95", due_date="2026-12-20")
    await add_action_item(client, findings[1]["id"], title="Page on p95", owner="lee", due_date="2026-11-26")
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert (await client.patch(f"/api/v1/action-items/{done['id']}", headers=ADMIN,
                               json={"status": "completed"})).status_code == 200

    clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # Wednesday of week 49
    await run(runtime, "digest")
    by_type = {}
    for body in bodies(route):
        by_type.setdefault(body["type"], []).append(body["data"])
    assert sorted((p["pattern"]["kind"], p["pattern"]["key"]) for p in by_type["pattern.detected"]) == [
        ("category", "technical"), ("tag", "canary")]
    [weekly] = by_type["digest.weekly"]
    assert weekly["period"] == {"label": "2026-W48", "start": "2026-11-23", "end": "2026-11-30"}
    assert (weekly["findings_count"], weekly["learnings_count"], weekly["completed_count"],
            weekly["overdue_count"]) == (3, 1, 1, 1)
    assert weekly["completed_action_items"][0]["title"] == "Watch p95"
    assert weekly["overdue_action_items"][0]["title"] == "Page on p95"
    [monthly] = by_type["digest.monthly"]
    assert monthly["period"]["label"] == "2026-11"
    assert {p["key"] for p in monthly["patterns"]} == {"technical", "canary"}
    assert isinstance(monthly["maturity"]["level"], int) and monthly["maturity"]["levels"]
    assert monthly["trends"] and monthly["trends"][-1]["start"] == "2026-11-01"
    assert len(bodies(route)) == 4

    clock.set(datetime(2026, 12, 6, 8, 0, tzinfo=UTC))  # Sunday: still week 49, still December
    await run(runtime, "digest")
    assert len(bodies(route)) == 4
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # Monday: week 49 is over
    await run(runtime, "digest")
    assert [b["data"]["period"]["label"] for b in bodies(route)[4:]] == ["2026-W49"]
