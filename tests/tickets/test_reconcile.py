"""`reconcile_jira`: what Jira changed while no webhook arrived is applied; twice changes nothing more.

Changes are made in the Jira stand-in the way a person would make them (no webhook is
sent); the job talks to the stand-in over a real socket through the `jira` client.
"""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from app.core import clock as app_clock
from app.integrations.jira.client import JiraUnavailable
from app.main import create_app
from app.tickets.jobs import reconcile_jira
from app.tickets.reconcile import RECONCILE_MARK
from app.models.tickets import JobMark, Ticket
from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, audit_entries
from tests.support.jira import (
    ticket_row,
    create_standin_issue,
    issue_event,
    jira_settings,
    post_jira,
    ticket_finding,
    ticketed_item,
)

SEARCH = r"/rest/api/(?:2|3|latest)/search(?:/jql)?"


async def created_item(client) -> tuple[dict, Ticket]:
    item = await ticketed_item(client)
    await client.runtime.queue.drain()
    ticket = await ticket_row(client, item["id"])
    assert ticket.state == "created", ticket.state
    return item, ticket


async def linked_item(client, jira, *, incident: str = "PINC0001", **issue) -> tuple[dict, str]:
    key = create_standin_issue(jira, **issue)
    _, finding = await ticket_finding(client, incident=incident)
    item = await add_action_item(client, finding["id"], jira_key=key)
    await client.runtime.queue.drain()
    assert item["ticket"]["state"] == "linked"
    return item, key


async def item_of(client, item_id: str) -> dict:
    response = await client.get(f"/api/v1/action-items/{item_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def state_of(client, *item_ids: str) -> tuple:
    """The items (with their tickets) and the whole audit trail."""
    return tuple([await item_of(client, i) for i in item_ids]) + (await audit_entries(client.runtime),)


async def mark(client) -> datetime | None:
    async with client.runtime.sessionmaker() as session:
        row = await session.get(JobMark, RECONCILE_MARK)
        return row.value if row else None


async def gate_codes(client, postmortem_id: str) -> dict[str, list]:
    response = await client.get(f"/api/v1/gates/postmortems/{postmortem_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return {v["code"]: v["ids"] for v in response.json()["violations"]}


# --- status changes that no webhook announced ----------------------------------------------------------------


@pytest.mark.parametrize("category,resolution,status", [
    ("done", "Done", "completed"),
    ("done", "Won't Do", "wont_do"),
    ("indeterminate", None, "in_progress"),
])
async def test_a_change_made_in_jira_without_a_webhook_is_applied_and_twice_changes_nothing(
        jira_client, jira, category, resolution, status):
    item, ticket = await created_item(jira_client)
    jira.set_status(ticket.jira_key, category, resolution)  # no webhook is sent
    assert (await item_of(jira_client, item["id"]))["status"] == "open"

    applied = await reconcile_jira(jira_client.runtime.ctx)
    assert applied == 1
    shown = await item_of(jira_client, item["id"])
    assert shown["status"] == status
    assert shown["ticket"]["status_category"] == category
    assert (shown["closed_at"] is not None) == (status in ("completed", "wont_do"))
    assert (shown["completed_at"] is not None) == (status == "completed")
    assert ("jira-reconcile", "action_item.status_from_jira", "action_item", item["id"]) in await audit_entries(
        jira_client.runtime, item["id"])

    before = await state_of(jira_client, item["id"])
    again = await reconcile_jira(jira_client.runtime.ctx)
    assert await state_of(jira_client, item["id"]) == before, "the second run changed the item or the audit trail"
    # The second run finds the same issue state; it may count it as re-applied, but it must change nothing.
    assert again in (0, 1)


async def test_a_linked_issue_is_reconciled_by_key(jira_client, jira):
    """Linked issues do not carry Loopgate's label: reconcile reads them one by one."""
    item, key = await linked_item(jira_client, jira)
    jira.set_status(key, "done")
    assert await reconcile_jira(jira_client.runtime.ctx) == 1
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"
    before = await state_of(jira_client, item["id"])
    await reconcile_jira(jira_client.runtime.ctx)
    assert await state_of(jira_client, item["id"]) == before


async def test_reconcile_never_overwrites_a_newer_webhook(jira_client, jira):
    item, ticket = await created_item(jira_client)
    moment = datetime.now(UTC).replace(microsecond=0)
    jira.set_status(ticket.jira_key, "indeterminate")
    jira.set_updated(ticket.jira_key, moment)  # what reconcile will read: in progress, as of `moment`
    response = await post_jira(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key,
                                                        category="done", updated=moment + timedelta(minutes=1)),
                               identifier="newer-than-reconcile")
    assert response.status_code == 202
    await jira_client.runtime.queue.drain()
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"
    assert await reconcile_jira(jira_client.runtime.ctx) == 0
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"


# --- deleted issues ------------------------------------------------------------------------------------------


async def test_a_deleted_linked_issue_becomes_missing(jira_client, jira):
    item, key = await linked_item(jira_client, jira)
    jira.delete_issue(key)
    await reconcile_jira(jira_client.runtime.ctx)
    assert (await ticket_row(jira_client, item["id"])).state == "missing"
    assert (await item_of(jira_client, item["id"]))["ticket"]["state"] == "missing"
    assert (await gate_codes(jira_client, item["postmortem_id"]))["ticket_missing"] == [item["id"]]
    assert ("jira-reconcile", "ticket.missing", "action_item", item["id"]) in await audit_entries(
        jira_client.runtime, item["id"])
    before = await state_of(jira_client, item["id"])
    await reconcile_jira(jira_client.runtime.ctx)
    assert await state_of(jira_client, item["id"]) == before


async def test_a_deleted_created_issue_whose_webhook_never_came_becomes_missing(jira_client, jira):
    """DESIGN §3 `ticket_missing`: deleted in Jira or cannot be found; §7: reconcile catches lost webhooks."""
    item, ticket = await created_item(jira_client)
    await reconcile_jira(jira_client.runtime.ctx)
    jira.delete_issue(ticket.jira_key)  # the jira:issue_deleted webhook is lost
    await reconcile_jira(jira_client.runtime.ctx)
    # Too new to tell from search lag: not missing yet.
    assert (await ticket_row(jira_client, item["id"])).state == "created"
    app_clock.set_clock(lambda: datetime.now(UTC) + timedelta(minutes=11))
    try:
        await reconcile_jira(jira_client.runtime.ctx)
    finally:
        app_clock.set_clock(None)
    assert (await ticket_row(jira_client, item["id"])).state == "missing"


async def test_an_old_created_ticket_still_in_jira_stays_created(jira_client, jira):
    item, ticket = await created_item(jira_client)
    app_clock.set_clock(lambda: datetime.now(UTC) + timedelta(minutes=11))
    try:
        await reconcile_jira(jira_client.runtime.ctx)
    finally:
        app_clock.set_clock(None)
    assert (await ticket_row(jira_client, item["id"])).state == "created"
    assert not jira.requests_to("GET", rf"/rest/api/2/issue/{ticket.jira_key}")  # found by the label search


# --- the job mark --------------------------------------------------------------------------------------------


def search_jqls(jira) -> list[str]:
    return [r.query["jql"][0] for r in jira.requests_to("GET", SEARCH) if "jql" in r.query]


async def test_the_mark_advances_and_bounds_the_next_search(jira_client, jira):
    await created_item(jira_client)
    assert await mark(jira_client) is None
    start = datetime.now(UTC)
    await reconcile_jira(jira_client.runtime.ctx)
    first = await mark(jira_client)
    assert first is not None and start - timedelta(seconds=1) <= first <= datetime.now(UTC)
    first_since = (first - timedelta(days=30)).strftime("%Y-%m-%d %H:")
    assert any(first_since in jql and "updated >=" in jql for jql in search_jqls(jira)), search_jqls(jira)

    await reconcile_jira(jira_client.runtime.ctx)
    second = await mark(jira_client)
    assert second > first
    # The next run searches from the last mark (less an overlap of a day), not from the beginning.
    overlap_since = (first - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    updated_queries = [jql for jql in search_jqls(jira) if "updated >=" in jql]
    assert f'updated >= "{overlap_since}"' in updated_queries[-1], search_jqls(jira)


async def test_without_jira_configured_reconcile_does_nothing(client, runtime):
    assert await reconcile_jira(runtime.ctx) == 0
    async with runtime.sessionmaker() as session:
        assert await session.get(JobMark, RECONCILE_MARK) is None


# --- Jira down -----------------------------------------------------------------------------------------------


async def test_with_jira_failing_the_job_raises_and_changes_nothing(jira_client, jira):
    """Jira answers 500 to the search: the job raises JiraUnavailable (the queue logs it and counts
    loopgate_job_failures), applies nothing, and leaves the mark where it was, so the next run
    covers the same window."""
    item, ticket = await created_item(jira_client)
    await reconcile_jira(jira_client.runtime.ctx)
    mark_before = await mark(jira_client)
    jira.set_status(ticket.jira_key, "done")
    before = await state_of(jira_client, item["id"])
    jira.fail_next(500, count=1, method="GET", path=SEARCH)
    with pytest.raises(JiraUnavailable, match="500"):
        await reconcile_jira(jira_client.runtime.ctx)
    assert await state_of(jira_client, item["id"]) == before
    assert await mark(jira_client) == mark_before
    # Jira is back: the next run catches up.
    assert await reconcile_jira(jira_client.runtime.ctx) == 1
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"
    assert await mark(jira_client) > mark_before


async def test_a_failure_half_way_applies_nothing(jira_client, jira):
    """The search answers, then reading a linked issue fails with 503: nothing of the run is applied."""
    created, ticket = await created_item(jira_client)
    linked, key = await linked_item(jira_client, jira, incident="PINC0002")
    jira.set_status(ticket.jira_key, "done")
    jira.set_status(key, "indeterminate")
    before = await state_of(jira_client, created["id"], linked["id"])
    jira.fail_next(503, count=1, method="GET", path=rf"/rest/api/(?:2|3|latest)/issue/{key}")
    with pytest.raises(JiraUnavailable, match="503"):
        await reconcile_jira(jira_client.runtime.ctx)
    assert await state_of(jira_client, created["id"], linked["id"]) == before
    assert await mark(jira_client) is None
    assert await reconcile_jira(jira_client.runtime.ctx) == 2
    assert (await item_of(jira_client, created["id"]))["status"] == "completed"
    assert (await item_of(jira_client, linked["id"]))["status"] == "in_progress"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_with_jira_unreachable_the_job_raises_and_changes_nothing(jira_client, jira, settings):
    """Nothing listens at the Jira URL (connection refused): JiraUnavailable, nothing applied, no mark."""
    item, ticket = await created_item(jira_client)
    jira.set_status(ticket.jira_key, "done")
    before = await state_of(jira_client, item["id"])
    dead = jira_settings(settings, jira).model_copy(update={"jira_url": f"http://127.0.0.1:{closed_port()}",
                                                            "jira_timeout_seconds": 2})
    app = create_app(dead)
    async with app.router.lifespan_context(app):
        with pytest.raises(JiraUnavailable):
            await reconcile_jira(app.state.runtime.ctx)
    assert await state_of(jira_client, item["id"]) == before
    assert await mark(jira_client) is None
