"""`GET /api/v1/incidents` and `GET /api/v1/incidents/{id}`, and repeats as the API shows them.

Incidents are created the way production creates them: signed deliveries through the
webhook, then the handling job.
"""

import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI

from tests.support.constants import ADMIN
from tests.support.incidents import (
    CHECKOUT,
    PAYMENTS,
    PLATFORM,
    SEARCH,
    create,
    day,
    deliver,
    get,
    history,
    iso,
)
from tests.support.pagerduty import incident_event, post_delivery

async def listed(client, **params) -> list[str]:
    response = await client.get("/api/v1/incidents", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return [item["external_id"] for item in body["items"]]


# --- filters -------------------------------------------------------------------------------------------------


@pytest.fixture
async def four(client, runtime) -> dict[str, dict]:
    """Two services, two teams, every status, four severities, one a day."""
    return {
        "I1": await create(client, runtime, "PI1", day(1), status="resolved", service=CHECKOUT, teams=(PAYMENTS,),
                           priority="P1"),
        "I2": await create(client, runtime, "PI2", day(2), status="acknowledged", service=CHECKOUT,
                           teams=(PLATFORM,), urgency="low"),
        "I3": await create(client, runtime, "PI3", day(3), status="triggered", service=SEARCH, teams=(PLATFORM,),
                           priority="P3"),
        "I4": await create(client, runtime, "PI4", day(4), status="resolved", service=SEARCH,
                           teams=(PAYMENTS, PLATFORM), urgency="high"),
    }


async def test_the_four_incidents_as_created(four):
    assert {key: (i["status"], i["severity"], i["service_name"]) for key, i in four.items()} == {
        "I1": ("resolved", "critical", "Checkout API"),
        "I2": ("acknowledged", "low", "Checkout API"),
        "I3": ("triggered", "medium", "Search"),
        "I4": ("resolved", "high", "Search"),
    }
    assert four["I4"]["teams"] == [{"id": "PTM0001", "name": "Payments"}, {"id": "PTM0002", "name": "Platform"}]


async def test_no_filter_lists_all_newest_trigger_first(client, four):
    assert await listed(client) == ["PI4", "PI3", "PI2", "PI1"]


@pytest.mark.parametrize(("service", "expected"), [
    ("PSV0001", ["PI2", "PI1"]),
    ("Checkout API", ["PI2", "PI1"]),
    ("PSV0002", ["PI4", "PI3"]),
    ("Search", ["PI4", "PI3"]),
    ("Nonexistent", []),
])
async def test_filter_by_service_id_or_name(client, four, service, expected):
    assert await listed(client, service=service) == expected


@pytest.mark.parametrize(("team", "expected"), [
    ("PTM0001", ["PI4", "PI1"]),
    ("Payments", ["PI4", "PI1"]),
    ("PTM0002", ["PI4", "PI3", "PI2"]),
    ("Platform", ["PI4", "PI3", "PI2"]),
    ("Nobody", []),
])
async def test_filter_by_team_id_or_name(client, four, team, expected):
    assert await listed(client, team=team) == expected


async def test_the_team_filter_follows_a_reassignment_and_not_a_late_older_event(client, runtime):
    first = history("PTR", day(0), teams=(PAYMENTS,))
    moved = history("PTR", day(0), teams=(PLATFORM,))[0]
    moved["event"]["id"], moved["event"]["event_type"] = "PTR-MOVED", "incident.reassigned"
    moved["event"]["occurred_at"] = iso(day(0) + timedelta(hours=1))
    await deliver(client, runtime, *first, moved)
    assert (await listed(client, team="Platform"), await listed(client, team="Payments")) == (["PTR"], [])

    late = history("PTR", day(0), teams=(PAYMENTS,))[0]  # older than the move, delivered after it
    late["event"]["id"], late["event"]["occurred_at"] = "PTR-LATE", iso(day(0) + timedelta(minutes=30))
    await deliver(client, runtime, late)
    assert (await listed(client, team="Platform"), await listed(client, team="Payments")) == (["PTR"], [])


@pytest.mark.parametrize(("status", "expected"), [
    ("triggered", ["PI3"]), ("acknowledged", ["PI2"]), ("resolved", ["PI4", "PI1"]),
])
async def test_filter_by_status(client, four, status, expected):
    assert await listed(client, status=status) == expected


async def test_an_unknown_status_is_422(client, four):
    response = await client.get("/api/v1/incidents", params={"status": "closed"}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize(("severity", "expected"), [
    ("critical", ["PI1"]), ("high", ["PI4"]), ("medium", ["PI3"]), ("low", ["PI2"]),
])
async def test_filter_by_severity(client, four, severity, expected):
    assert await listed(client, severity=severity) == expected


async def test_since_is_inclusive_and_until_exclusive(client, four):
    assert await listed(client, since=iso(day(2))) == ["PI4", "PI3", "PI2"]
    assert await listed(client, until=iso(day(3))) == ["PI2", "PI1"]
    assert await listed(client, since=iso(day(2)), until=iso(day(4))) == ["PI3", "PI2"]
    # An offset is honoured: 10:00+01:00 is PI2's trigger time (09:00 UTC), one second later is after it.
    assert await listed(client, since="2026-01-03T10:00:00+01:00") == ["PI4", "PI3", "PI2"]
    assert await listed(client, since="2026-01-03T10:00:01+01:00") == ["PI4", "PI3"]


async def test_a_since_without_a_time_zone_is_not_a_server_error(client, four):
    try:
        response = await client.get("/api/v1/incidents", params={"since": "2026-01-03T09:00:01"}, headers=ADMIN)
    except Exception as exc:  # the ASGI test transport re-raises what the app did not handle (a 500)
        pytest.fail(f"BUG app/incidents/routes.py list_incidents: ?since=2026-01-03T09:00:01 (no offset) crashes "
                    f"the app ({exc.__class__.__name__}: naive datetime rejected by UTCDateTime) instead of "
                    f"answering 200 (read as UTC)")
    assert response.status_code == 200, response.text  # read as UTC
    assert [i["external_id"] for i in response.json()["items"]] == ["PI4", "PI3"]


async def test_filters_combine(client, four):
    assert await listed(client, service="Search", team="Payments") == ["PI4"]
    assert await listed(client, service="Checkout API", status="resolved", severity="critical") == ["PI1"]
    assert await listed(client, team="Platform", since=iso(day(3))) == ["PI4", "PI3"]


async def test_the_list_needs_a_token(client, four):
    assert (await client.get("/api/v1/incidents")).status_code == 401
    assert (await client.get("/api/v1/incidents/PI1")).status_code == 401


# --- pagination --------------------------------------------------------------------------------------------------


async def page_through(client, limit: int, **params) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        try:
            response = await client.get("/api/v1/incidents", params=query, headers=ADMIN)
        except Exception as exc:  # the ASGI test transport re-raises what the app did not handle
            pytest.fail(f"BUG app/pagination.py _decode: the next_cursor the API gave out crashes page "
                        f"{len(pages) + 1} with {exc.__class__.__name__}: {str(exc)[:160]} (UTCDateTime.python_type "
                        f"is not datetime, so the cursor's time stays a str)")
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["external_id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


async def test_three_pages_without_repeats_or_gaps(client, runtime):
    # Eight incidents; three pairs share a trigger time, so the id must break ties.
    moments = [day(1), day(1), day(2), day(3), day(3), day(4), day(5), day(5)]
    deliveries = []
    for n, moment in enumerate(moments):
        deliveries += history(f"PPG{n}", moment, title=f"Pager {n}")
    await deliver(client, runtime, *deliveries)

    pages = await page_through(client, 3)
    assert [len(page) for page in pages] == [3, 3, 2]
    flat = [external_id for page in pages for external_id in page]
    assert sorted(flat) == sorted(f"PPG{n}" for n in range(8))
    assert flat == await listed(client, limit=500)  # the same order as one big page

    filtered = await page_through(client, 2, since=iso(day(3)))
    assert [len(page) for page in filtered] == [2, 2, 1]
    assert sorted(x for page in filtered for x in page) == ["PPG3", "PPG4", "PPG5", "PPG6", "PPG7"]


async def test_an_exact_last_page_has_no_next_cursor(client, runtime):
    deliveries = []
    for n in range(4):
        deliveries += history(f"PEX{n}", day(n), title=f"Exact {n}")
    await deliver(client, runtime, *deliveries)
    assert await page_through(client, 2) == [["PEX3", "PEX2"], ["PEX1", "PEX0"]]


async def test_a_cursor_that_was_not_given_out_is_400(client, four):
    response = await client.get("/api/v1/incidents", params={"cursor": "not-a-cursor"}, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("limit", [0, 501])
async def test_a_limit_out_of_range_is_422(client, four, limit):
    response = await client.get("/api/v1/incidents", params={"limit": limit}, headers=ADMIN)
    assert response.status_code == 422


# --- one incident ---------------------------------------------------------------------------------------------


async def test_get_by_loopgate_id_or_pagerduty_id(client, four):
    by_pagerduty_id = await get(client, "PI3")
    by_loopgate_id = await get(client, by_pagerduty_id["id"])
    assert by_pagerduty_id == by_loopgate_id
    assert uuid.UUID(by_loopgate_id["id"])
    assert by_loopgate_id["external_id"] == "PI3"
    assert by_loopgate_id["source"] == "pagerduty"
    assert by_loopgate_id["html_url"] == "https://acme.pagerduty.com/incidents/PI3"
    assert by_loopgate_id["reported_by"] == "human"
    assert by_loopgate_id["fingerprint"] == "PSV0002:disk full on db-#"


@pytest.mark.parametrize("incident_id", ["PNOPE", str(uuid.UUID(int=7)), "not a uuid either"])
async def test_an_unknown_incident_is_a_404_in_json(client, four, incident_id):
    response = await client.get(f"/api/v1/incidents/{incident_id}", headers=ADMIN)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert body["message"]


# --- repeats ----------------------------------------------------------------------------------------------------


async def test_a_repeat_within_the_lookback_points_at_the_earlier_incident(client, runtime):
    await create(client, runtime, "PRA", day(0), title="DB-42 latency 300ms")
    await create(client, runtime, "PRB", day(10), title="db-7  latency 12ms")
    await create(client, runtime, "PRC", day(200), title="DB-9 latency 5ms")
    a, b, c = await get(client, "PRA"), await get(client, "PRB"), await get(client, "PRC")
    assert a["fingerprint"] == b["fingerprint"] == c["fingerprint"]
    assert a["repeat_of_id"] is None
    assert b["repeat_of_id"] == a["id"]
    assert c["repeat_of_id"] is None  # 190 days after B: outside the 90-day lookback


async def test_the_most_recent_earlier_incident_is_the_one(client, runtime):
    a = await create(client, runtime, "PMA", day(0))
    b = await create(client, runtime, "PMB", day(10))
    d = await create(client, runtime, "PMD", day(20))
    assert d["repeat_of_id"] == b["id"]
    assert (await get(client, "PMB"))["repeat_of_id"] == a["id"]


async def test_the_lookback_edges(client, runtime):
    a = await create(client, runtime, "PLA", day(0))
    inside = await create(client, runtime, "PLB", day(89))
    outside = await create(client, runtime, "PLC", day(89 + 91))
    assert inside["repeat_of_id"] == a["id"]
    assert outside["repeat_of_id"] is None


async def test_backfill_gives_the_later_incident_its_repeat(client, runtime):
    later = await create(client, runtime, "PBL", day(20))
    assert later["repeat_of_id"] is None
    earlier = await create(client, runtime, "PBE", day(0))
    assert earlier["repeat_of_id"] is None
    assert (await get(client, "PBL"))["repeat_of_id"] == earlier["id"]

    # One more backfilled between them: the later one now repeats the nearer one.
    middle = await create(client, runtime, "PBM", day(10))
    assert middle["repeat_of_id"] == earlier["id"]
    assert (await get(client, "PBL"))["repeat_of_id"] == middle["id"]


async def test_repeats_do_not_depend_on_arrival_order(client, runtime):
    moments = {"PO0": 0, "PO1": 30, "PO2": 45, "PO3": 200, "PO4": 250}
    arrival = ["PO3", "PO0", "PO4", "PO2", "PO1"]
    for external_id in arrival:
        await create(client, runtime, external_id, day(moments[external_id]))
    ids = {x: (await get(client, x))["id"] for x in moments}
    repeats = {x: (await get(client, x))["repeat_of_id"] for x in moments}
    assert repeats == {"PO0": None, "PO1": ids["PO0"], "PO2": ids["PO1"], "PO3": None, "PO4": ids["PO3"]}


async def test_another_service_or_another_title_is_not_a_repeat(client, runtime):
    await create(client, runtime, "PDA", day(0), service=CHECKOUT, title="Disk full on db-1")
    other_service = await create(client, runtime, "PDB", day(1), service=SEARCH, title="Disk full on db-1")
    other_title = await create(client, runtime, "PDC", day(2), service=CHECKOUT, title="Cache miss rate 40%")
    assert other_service["repeat_of_id"] is None
    assert other_title["repeat_of_id"] is None


async def test_the_incident_key_decides_over_the_title(client, runtime):
    first = history("PKA", day(0), title="Whatever happened first")
    second = history("PKB", day(1), title="Something else entirely")
    for delivery, key in ((first[0], "disk-full/db-1"), (second[0], "DISK-FULL/db-22")):
        delivery["event"]["data"]["incident_key"] = key
    await deliver(client, runtime, *first, *second)
    a, b = await get(client, "PKA"), await get(client, "PKB")
    assert b["repeat_of_id"] == a["id"]


async def test_an_incident_retitled_out_of_a_fingerprint_is_no_longer_repeated(client, runtime):
    a = await create(client, runtime, "PTA", day(0), title="Disk full on db-1")
    b = await create(client, runtime, "PTB", day(10), title="Disk full on db-2")
    assert b["repeat_of_id"] == a["id"]

    # A later snapshot of A carries a new title (a responder renamed it): A and B no longer share a fingerprint.
    retitle = incident_event("PTA-RENAMED", "incident.priority_updated", iso(day(0) + timedelta(hours=1)), "PTA",
                             status="triggered", title="Replication lag on db-1", service=CHECKOUT,
                             teams=[PAYMENTS], created_at=iso(day(0)), priority="P2")
    await deliver(client, runtime, retitle)
    a, b = await get(client, "PTA"), await get(client, "PTB")
    assert a["fingerprint"] != b["fingerprint"]
    assert b["repeat_of_id"] is None, (
        "BUG app/incidents/service.py _link_repeats: when an incident's fingerprint changes, incidents of its "
        "old fingerprint that pointed at it keep a stale repeat_of_id (only the new fingerprint's group is relinked)"
    )


@pytest.fixture
def short_lookback(settings):
    return settings.model_copy(update={"repeat_lookback_days": 5})


async def test_the_lookback_is_configurable(short_lookback):
    import httpx

    from app.main import create_app

    application: FastAPI = create_app(short_lookback)
    async with application.router.lifespan_context(application):
        runtime = application.state.runtime
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            a = await create(client, runtime, "PSA", day(0))
            b = await create(client, runtime, "PSB", day(4))
            c = await create(client, runtime, "PSC", day(10))
    assert b["repeat_of_id"] == a["id"]
    assert c["repeat_of_id"] is None


async def test_repeats_are_right_when_both_incidents_arrive_at_once(client, runtime):
    """Ten pairs, each pair's triggers delivered together: their jobs run concurrently."""
    import asyncio

    pairs = [(history(f"PC{n}A", day(0), title=f"Concurrent case {chr(65 + n)}"),
              history(f"PC{n}B", day(3), title=f"Concurrent case {chr(65 + n)}")) for n in range(10)]
    responses = await asyncio.gather(*(post_delivery(client, d) for a, b in pairs for d in (*b, *a)))
    assert {r.status_code for r in responses} == {202}
    await runtime.queue.drain()
    wrong = []
    for n in range(10):
        a, b = await get(client, f"PC{n}A"), await get(client, f"PC{n}B")
        if b["repeat_of_id"] != a["id"]:
            wrong.append(f"PC{n}B")
    assert wrong == [], (
        f"BUG app/incidents/service.py _link_repeats: {len(wrong)}/10 later incidents lost their repeat_of_id when "
        "both incidents' first events were applied concurrently (each transaction cannot see the other's new row)"
    )
