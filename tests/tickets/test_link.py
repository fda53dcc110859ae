"""Linking an existing Jira issue to an action item, and replacing a missing or failed ticket.

Issues are created in the Jira stand-in through its REST API, as a person would file them;
Loopgate checks them through the real `jira` client over a real socket.
"""

import socket

import httpx
import pytest

from app.main import create_app
from app.tickets.jobs import sweep_tickets, sync_ticket
from app.models.tickets import Ticket
from app.tickets.sync import item_label
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import ACTION_ITEM, audit_entries
from tests.support.jira import (
    ticket_row,
    create_standin_issue,
    deleted_event,
    jira_settings,
    post_jira,
    ticket_finding,
    ticketed_item,
)

CREATE = r"/rest/api/(?:2|3|latest)/issue/?"


async def post_item(client, finding_id: str, **fields) -> httpx.Response:
    return await client.post(f"/api/v1/findings/{finding_id}/action-items", headers=ADMIN,
                             json={**ACTION_ITEM, **fields})


async def patch_item(client, item_id: str, **fields) -> httpx.Response:
    return await client.patch(f"/api/v1/action-items/{item_id}", headers=ADMIN, json=fields)


async def item_of(client, item_id: str) -> dict:
    response = await client.get(f"/api/v1/action-items/{item_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def gate_codes(client, postmortem_id: str) -> dict[str, list]:
    response = await client.get(f"/api/v1/gates/postmortems/{postmortem_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return {v["code"]: v["ids"] for v in response.json()["violations"]}


async def assert_nothing_saved(client) -> None:
    runtime = client.runtime
    assert await count_rows(runtime, "action_items") == 0
    assert await count_rows(runtime, "tickets") == 0
    assert [e for e in await audit_entries(runtime) if e[2] == "action_item"] == []


async def make_missing(client, item_id: str) -> Ticket:
    """The item's issue is deleted in Jira, and Jira says so with a webhook."""
    ticket = await ticket_row(client, item_id)
    response = await post_jira(client, deleted_event(issue_id=ticket.jira_id, key=ticket.jira_key),
                               identifier=f"deleted-{ticket.jira_key}")
    assert response.status_code == 202, response.text
    await client.runtime.queue.drain()
    ticket = await ticket_row(client, item_id)
    assert ticket.state == "missing"
    return ticket


# --- linking on create ---------------------------------------------------------------------------------------


async def test_linking_an_existing_issue_mirrors_it_and_links_back_once(jira_client, jira):
    key = create_standin_issue(jira)
    postmortem, finding = await ticket_finding(jira_client)
    response = await post_item(jira_client, finding["id"], jira_key=key.lower())  # keys are case-insensitive
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["ticket"] == {"state": "linked", "jira_key": key, "url": f"{jira.url}/browse/{key}",
                              "status_category": "new", "last_error": None}
    assert item["status"] == "open"
    await jira_client.runtime.queue.drain()

    [link] = jira.remote_links[key]
    assert link["globalId"] == f"loopgate:action-item:{item['id']}"
    assert link["object"]["url"].endswith(f"/api/v1/postmortems/{postmortem['id']}")
    assert (await ticket_row(jira_client, item["id"])).remote_link_added
    ticket = await ticket_row(jira_client, item["id"])
    for _ in range(2):  # the job again: still one link, and still no issue created
        await sync_ticket(jira_client.runtime.ctx, str(ticket.id))
    assert len(jira.remote_links[key]) == 1
    assert jira.count_issues() == 1 and len(jira.requests_to("POST", CREATE)) == 1  # only ours, by hand
    assert "finding_without_ticket" not in await gate_codes(jira_client, postmortem["id"])
    assert ("admin-token", "ticket.linked", "action_item", item["id"]) in await audit_entries(
        jira_client.runtime, item["id"])


@pytest.mark.parametrize("category,resolution,status", [
    ("done", "Done", "completed"),
    ("done", "Won't Fix", "wont_do"),
    ("indeterminate", None, "in_progress"),
])
async def test_the_linked_issue_status_becomes_the_item_status(jira_client, jira, category, resolution, status):
    key = create_standin_issue(jira, category=category, resolution=resolution)
    _, finding = await ticket_finding(jira_client)
    response = await post_item(jira_client, finding["id"], jira_key=key)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == status and item["ticket"]["status_category"] == category
    assert (item["completed_at"] is not None) == (status == "completed")
    assert (item["closed_at"] is not None) == (status in ("completed", "wont_do"))
    assert await item_of(jira_client, item["id"]) == item


async def test_an_unknown_key_is_422_and_saves_nothing(jira_client, jira):
    create_standin_issue(jira)  # OPS-1 exists; OPS-404 does not
    _, finding = await ticket_finding(jira_client)
    response = await post_item(jira_client, finding["id"], jira_key="OPS-404")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "jira_issue_not_found" and body["details"] == {"jira_key": "OPS-404"}
    await jira_client.runtime.queue.drain()
    await assert_nothing_saved(jira_client)
    assert jira.remote_links == {"OPS-1": []}


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_jira_failing_is_502_and_saves_nothing(jira_client, jira, status):
    key = create_standin_issue(jira)
    _, finding = await ticket_finding(jira_client)
    path = rf"/rest/api/(?:2|3|latest)/issue/{key}"
    if status == 429:
        jira.rate_limit_next(1, retry_after=5, method="GET", path=path)
    else:
        jira.fail_next(status, count=1, method="GET", path=path)
    response = await post_item(jira_client, finding["id"], jira_key=key)
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "jira_unavailable"
    await jira_client.runtime.queue.drain()
    await assert_nothing_saved(jira_client)
    assert jira.remote_links[key] == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_jira_unreachable_is_502_and_saves_nothing(jira_client, jira, settings):
    _, finding = await ticket_finding(jira_client)
    dead = jira_settings(settings, jira).model_copy(update={"jira_url": f"http://127.0.0.1:{closed_port()}",
                                                            "jira_timeout_seconds": 2})
    app = create_app(dead)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as other:
            response = await post_item(other, finding["id"], jira_key="OPS-1")
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "jira_unavailable"
    await assert_nothing_saved(jira_client)


# --- replacing a missing or failed ticket --------------------------------------------------------------------


async def test_a_new_jira_key_relinks_a_missing_ticket(jira_client, jira):
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    old = await ticket_row(jira_client, item["id"])
    jira.delete_issue(old.jira_key)
    await make_missing(jira_client, item["id"])
    assert (await gate_codes(jira_client, item["postmortem_id"]))["ticket_missing"] == [item["id"]]

    refused = await patch_item(jira_client, item["id"], jira_key="OPS-999")
    assert refused.status_code == 422 and refused.json()["error"] == "jira_issue_not_found"
    assert (await ticket_row(jira_client, item["id"])).state == "missing"  # nothing saved

    key = create_standin_issue(jira, summary="Filed by hand instead")
    response = await patch_item(jira_client, item["id"], jira_key=key)
    assert response.status_code == 200, response.text
    assert response.json()["ticket"] == {"state": "linked", "jira_key": key, "url": f"{jira.url}/browse/{key}",
                                         "status_category": "new", "last_error": None}
    await jira_client.runtime.queue.drain()
    codes = await gate_codes(jira_client, item["postmortem_id"])
    assert "ticket_missing" not in codes and "finding_without_ticket" not in codes
    assert len(jira.remote_links[key]) == 1
    assert (await ticket_row(jira_client, item["id"])).remote_link_added


async def test_create_ticket_on_a_failed_ticket_creates_one_new_issue(jira_client, jira):
    jira.fail_next_create(400)  # Jira rejects the create: the ticket is failed at once
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    failed = await ticket_row(jira_client, item["id"])
    assert failed.state == "failed" and "400" in failed.last_error
    assert "finding_without_ticket" in await gate_codes(jira_client, item["postmortem_id"])

    response = await patch_item(jira_client, item["id"], create_ticket=True)
    assert response.status_code == 200, response.text
    again = await patch_item(jira_client, item["id"], create_ticket=True)  # asked twice: still one issue
    assert again.status_code == 200, again.text
    await jira_client.runtime.queue.drain()
    ticket = await ticket_row(jira_client, item["id"])
    assert ticket.state == "created" and ticket.last_error is None
    for _ in range(2):
        await sync_ticket(jira_client.runtime.ctx, str(ticket.id))
    assert (await patch_item(jira_client, item["id"], create_ticket=True)).status_code == 200
    await jira_client.runtime.queue.drain()
    assert jira.count_issues(item_label(item["id"])) == 1
    assert (await ticket_row(jira_client, item["id"])).jira_key == ticket.jira_key
    assert len(jira.remote_links[ticket.jira_key]) == 1
    assert "finding_without_ticket" not in await gate_codes(jira_client, item["postmortem_id"])


async def test_create_ticket_on_a_missing_ticket_creates_one_new_issue(jira_client, jira):
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    old = await ticket_row(jira_client, item["id"])
    jira.delete_issue(old.jira_key)
    await make_missing(jira_client, item["id"])
    creates_before = len(jira.requests_to("POST", CREATE))

    response = await patch_item(jira_client, item["id"], create_ticket=True)
    assert response.status_code == 200, response.text
    await jira_client.runtime.queue.drain()
    ticket = await ticket_row(jira_client, item["id"])
    assert ticket.state == "created" and ticket.jira_key != old.jira_key
    for _ in range(2):
        await sync_ticket(jira_client.runtime.ctx, str(ticket.id))
    assert await sweep_tickets(jira_client.runtime.ctx) == 0
    assert jira.count_issues(item_label(item["id"])) == 1
    assert len(jira.requests_to("POST", CREATE)) == creates_before + 1
    assert len(jira.remote_links[ticket.jira_key]) == 1
    assert "ticket_missing" not in await gate_codes(jira_client, item["postmortem_id"])


# --- the link back -------------------------------------------------------------------------------------------


async def test_a_failed_link_back_is_retried_by_the_sweeper_into_one_link(jira_client, jira):
    key = create_standin_issue(jira)
    _, finding = await ticket_finding(jira_client)
    jira.fail_next(500, count=1, method="POST", path=rf"/rest/api/(?:2|3|latest)/issue/{key}/remotelink")
    response = await post_item(jira_client, finding["id"], jira_key=key)
    assert response.status_code == 201, response.text
    item = response.json()
    await jira_client.runtime.queue.drain()
    waiting = await ticket_row(jira_client, item["id"])
    assert waiting.state == "linked" and not waiting.remote_link_added and "500" in waiting.last_error
    assert jira.remote_links[key] == []

    assert await sweep_tickets(jira_client.runtime.ctx) == 1
    await jira_client.runtime.queue.drain()
    assert len(jira.remote_links[key]) == 1
    ticket = await ticket_row(jira_client, item["id"])
    assert ticket.remote_link_added
    assert await sweep_tickets(jira_client.runtime.ctx) == 0
    assert ticket.last_error is None, (
        f"the link back succeeded on retry, but the ticket still shows the old error {ticket.last_error!r} "
        "(GET /action-items/{id} → ticket.last_error)")
