"""Action items: create, status changes and their timestamps, filters (overdue, service...), delete."""

import pytest

from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import (
    add_action_item,
    add_finding,
    add_packet,
    audit_entries,
    make_incident,
    make_postmortem,
    move,
)


@pytest.fixture
async def finding(client, runtime) -> dict:
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    return await add_finding(client, postmortem["id"])


async def patch(client, item_id: str, **fields) -> dict:
    response = await client.patch(f"/api/v1/action-items/{item_id}", headers=ADMIN, json=fields)
    assert response.status_code == 200, response.text
    return response.json()


async def test_create_answers_201_with_defaults(client, runtime, finding, clock):
    item = await add_action_item(client, finding["id"], description="Add p95 to the canary analysis.",
                                 due_date="2026-01-05")  # in the past: history entered after the fact
    assert item["finding_id"] == finding["id"] and item["postmortem_id"] == finding["postmortem_id"]
    assert item["status"] == "open" and item["escalation_level"] == 0 and item["ticket"] is None
    assert item["created_at"] == "2026-11-22T12:00:00Z" and item["due_date"] == "2026-01-05"
    assert item["overdue"] is True and item["completed_at"] is None and item["closed_at"] is None
    assert item["description"] == "Add p95 to the canary analysis."
    got = await client.get(f"/api/v1/action-items/{item['id']}", headers=ADMIN)
    assert got.status_code == 200 and got.json() == item
    assert await audit_entries(runtime, item["id"]) == [("admin-token", "action_item.created", "action_item",
                                                         item["id"])]


@pytest.mark.parametrize("extra,field", [
    ({"ticket": None}, "body.ticket"),
    ({"create_ticket": True, "jira_key": "OPS-12"}, "body"),
    ({"jira_key": "not a key"}, "body.jira_key"),
])
async def test_unknown_or_contradictory_ticket_fields_are_422(client, runtime, finding, extra, field):
    response = await client.post(f"/api/v1/findings/{finding['id']}/action-items", headers=ADMIN,
                                 json={"title": "t", "owner": "o", "priority": "P1", "due_date": "2026-12-01",
                                       "durability": "detect", **extra})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == field
    assert await count_rows(runtime, "action_items") == 0


async def test_linking_without_jira_configured_is_502_and_saves_nothing(client, runtime, finding):
    response = await client.post(f"/api/v1/findings/{finding['id']}/action-items", headers=ADMIN,
                                 json={"title": "t", "owner": "o", "priority": "P1", "due_date": "2026-12-01",
                                       "durability": "detect", "jira_key": "OPS-12"})
    assert response.status_code == 502
    assert response.json()["error"] == "jira_unavailable"
    assert await count_rows(runtime, "action_items") == 0


async def test_status_changes_record_completed_at_and_closed_at(client, runtime, finding, clock):
    item = await add_action_item(client, finding["id"])
    clock.advance(days=1)
    assert (await patch(client, item["id"], status="in_progress"))["closed_at"] is None
    clock.advance(days=1)
    done = await patch(client, item["id"], status="completed", completion_notes="Shipped in 4.2.")
    assert done["completed_at"] == done["closed_at"] == "2026-11-24T12:00:00Z"
    assert done["completion_notes"] == "Shipped in 4.2." and done["overdue"] is False
    clock.advance(days=1)
    wont = await patch(client, item["id"], status="wont_do")
    assert wont["completed_at"] is None and wont["closed_at"] == "2026-11-24T12:00:00Z"
    clock.advance(days=1)
    reopened = await patch(client, item["id"], status="blocked")
    assert reopened["completed_at"] is None and reopened["closed_at"] is None
    clock.advance(days=1)
    wont = await patch(client, item["id"], status="wont_do")
    assert wont["closed_at"] == "2026-11-27T12:00:00Z" and wont["completed_at"] is None
    again = await patch(client, item["id"], status="wont_do")  # no change, nothing moves
    assert again["closed_at"] == "2026-11-27T12:00:00Z"
    actions = [a[1] for a in await audit_entries(runtime, item["id"])]
    assert actions == ["action_item.created"] + ["action_item.updated"] * 5


async def test_fields_can_be_edited(client, runtime, finding, clock):
    item = await add_action_item(client, finding["id"])
    clock.advance(hours=3)
    body = await patch(client, item["id"], title="Alert on p95", owner="ravi", priority="P1", due_date="2026-12-01",
                       durability="detect", description=None)
    assert (body["title"], body["owner"], body["priority"], body["due_date"], body["durability"]) == (
        "Alert on p95", "ravi", "P1", "2026-12-01", "detect")
    assert body["updated_at"] == "2026-11-22T15:00:00Z" and body["status"] == "open"


async def test_filters(client, runtime, clock):
    checkout = await make_incident(client, runtime, "PCHECK0", service_id="PSVCHK0")
    search = await make_incident(client, runtime, "PSEARCH", service_id="PSVSRCH")
    pm_checkout = await make_postmortem(client, [checkout])
    pm_both = await make_postmortem(client, [search, checkout])
    pm_search = await make_postmortem(client, [search])
    made = {}
    for key, postmortem, fields in [
        ("late_p1", pm_checkout, {"priority": "P1", "due_date": "2026-11-21", "owner": "dana"}),
        ("due_today", pm_checkout, {"priority": "P2", "due_date": "2026-11-22", "owner": "dana"}),
        ("late_done", pm_both, {"priority": "P1", "due_date": "2026-11-01", "owner": "ravi"}),
        ("search_only", pm_search, {"priority": "P3", "due_date": "2026-10-01", "owner": "ravi"}),
    ]:
        clock.advance(minutes=1)
        finding = await add_finding(client, postmortem["id"])
        made[key] = (await add_action_item(client, finding["id"], **fields))["id"]
    await patch(client, made["late_done"], status="completed")
    await patch(client, made["search_only"], status="blocked")
    names = {v: k for k, v in made.items()}

    async def listed(query: str) -> list[str]:
        response = await client.get(f"/api/v1/action-items{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return [names[item["id"]] for item in response.json()["items"]]

    assert await listed("") == ["search_only", "late_done", "due_today", "late_p1"]
    assert await listed("?owner=dana") == ["due_today", "late_p1"]
    assert await listed("?status=completed") == ["late_done"]
    assert await listed("?priority=P1") == ["late_done", "late_p1"]
    assert await listed("?overdue=true") == ["search_only", "late_p1"]
    assert await listed("?overdue=false") == ["late_done", "due_today"]
    assert await listed("?service=PSVCHK0") == ["late_done", "due_today", "late_p1"]
    assert await listed("?service=Checkout API") == ["search_only", "late_done", "due_today", "late_p1"]
    assert await listed("?service=PSVSRCH&overdue=true") == ["search_only"]
    assert await listed("?service=nowhere") == []
    clock.advance(days=1)  # tomorrow, what was due today is late
    assert await listed("?overdue=true") == ["search_only", "due_today", "late_p1"]
    first = (await client.get("/api/v1/action-items?limit=3", headers=ADMIN)).json()
    rest = (await client.get(f"/api/v1/action-items?limit=3&cursor={first['next_cursor']}", headers=ADMIN)).json()
    assert [names[i["id"]] for i in first["items"] + rest["items"]] == ["search_only", "late_done", "due_today",
                                                                        "late_p1"]
    assert rest["next_cursor"] is None


async def test_delete(client, runtime, finding):
    item = await add_action_item(client, finding["id"])
    response = await client.delete(f"/api/v1/action-items/{item['id']}", headers=ADMIN)
    assert response.status_code == 204
    assert (await client.get(f"/api/v1/action-items/{item['id']}", headers=ADMIN)).status_code == 404
    assert (await client.delete(f"/api/v1/action-items/{item['id']}", headers=ADMIN)).status_code == 404
    actions = [a[1] for a in await audit_entries(runtime, item["id"])]
    assert actions == ["action_item.created", "action_item.deleted"]


async def test_work_goes_on_after_close_but_items_are_not_deleted(client, runtime):
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident)
    postmortem = await make_postmortem(client, [incident])
    finding = await add_finding(client, postmortem["id"])
    item = await add_action_item(client, finding["id"])
    assert (await move(client, postmortem["id"], "in_review", "published", "closed")).status_code == 200
    assert (await patch(client, item["id"], status="completed"))["status"] == "completed"
    later = await add_action_item(client, finding["id"], title="Follow-up found after closing")
    assert later["status"] == "open"
    refused = await client.delete(f"/api/v1/action-items/{item['id']}", headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["error"] == "postmortem_closed"
    assert await count_rows(runtime, "action_items") == 2
