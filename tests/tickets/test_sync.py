"""Exactly one Jira issue per action item, whatever fails — counted in the stand-in."""

import asyncio


from app.tickets.jobs import sweep_tickets, sync_ticket
from app.models.tickets import Ticket
from app.tickets.sync import item_label
from tests.support.constants import ADMIN
from tests.support.jira import (
    ticket_row,
    ticketed_item,
)


def lose_sync_jobs(client) -> None:
    """`sync_ticket` jobs are lost (nothing runs them); every other job still runs."""
    submit = client.runtime.queue.submit
    client.runtime.queue.submit = lambda job: None if job.name == "sync_ticket" else submit(job)
    client.runtime.queue.submit_real = submit


async def run_sync(client, item_id: str, times: int = 1) -> Ticket:
    ticket = await ticket_row(client, item_id)
    for _ in range(times):
        await sync_ticket(client.runtime.ctx, str(ticket.id))
    return await ticket_row(client, item_id)


async def test_create_ticket_makes_one_issue_with_the_right_fields_and_a_link_back(jira_client, jira):
    item = await ticketed_item(jira_client, priority="P1", due_date="2026-12-01")
    await jira_client.runtime.queue.drain()
    assert jira.count_issues(item_label(item["id"])) == 1
    ticket = await ticket_row(jira_client, item["id"])
    assert ticket.state == "created" and ticket.remote_link_added
    issue = jira.get_issue(ticket.jira_key)
    fields = issue["fields"]
    assert set(fields["labels"]) == {"loopgate", item_label(item["id"])}
    assert fields["summary"] == item["title"]
    assert fields["priority"]["name"] == "Highest"
    assert fields["duedate"] == "2026-12-01"
    assert "Durability: guardrail" in fields["description"]
    assert f"/api/v1/postmortems/{item['postmortem_id']}" in fields["description"]
    [link] = jira.remote_links[ticket.jira_key]
    assert link["globalId"] == f"loopgate:action-item:{item['id']}"
    shown = (await jira_client.get(f"/api/v1/action-items/{item['id']}", headers=ADMIN)).json()["ticket"]
    assert shown == {"state": "created", "jira_key": ticket.jira_key, "url": f"{jira.url}/browse/{ticket.jira_key}",
                     "status_category": "new", "last_error": None}


async def test_the_job_run_twice_creates_one_issue_and_one_link(jira_client, jira):
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    await run_sync(jira_client, item["id"], times=2)
    assert jira.count_issues(item_label(item["id"])) == 1
    assert len(jira.remote_links[(await ticket_row(jira_client, item["id"])).jira_key]) == 1


async def test_two_workers_racing_create_one_issue(jira_client, jira):
    jira.latency_seconds = 0.2  # both are in flight at once
    lose_sync_jobs(jira_client)  # only the racers below run
    item = await ticketed_item(jira_client)
    ticket = await ticket_row(jira_client, item["id"])
    await asyncio.gather(*(sync_ticket(jira_client.runtime.ctx, str(ticket.id)) for _ in range(4)))
    assert jira.count_issues(item_label(item["id"])) == 1
    assert (await ticket_row(jira_client, item["id"])).state == "created"


async def test_a_500_on_create_is_retried_into_one_issue(jira_client, jira):
    jira.fail_next_create(500)
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    failed_once = await ticket_row(jira_client, item["id"])
    assert failed_once.state == "creating" and "500" in failed_once.last_error
    assert jira.count_issues(item_label(item["id"])) == 0
    ticket = await run_sync(jira_client, item["id"], times=2)
    assert ticket.state == "created" and ticket.last_error is None
    assert jira.count_issues(item_label(item["id"])) == 1


async def test_create_then_dropped_connection_is_found_by_label_not_created_again(jira_client, jira):
    jira.search_lag_seconds = 0.2  # Jira search lags behind the write
    jira.drop_after_create()
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    unknown = await ticket_row(jira_client, item["id"])
    assert unknown.state == "creating"  # the outcome is unknown
    assert jira.count_issues(item_label(item["id"])) == 1  # ... but Jira did create it
    ticket = await run_sync(jira_client, item["id"], times=2)
    assert ticket.state == "created"
    assert jira.count_issues(item_label(item["id"])) == 1
    creates = [r for r in jira.requests_to("POST", r"/rest/api/2/issue")]
    assert len(creates) == 1


async def test_a_429_waits_for_retry_after_then_creates_one_issue(jira_client, jira):
    jira.rate_limit_next(1, retry_after=7, method="POST", path=r"/rest/api/2/issue")
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    limited = await ticket_row(jira_client, item["id"])
    assert limited.state == "creating" and "429" in limited.last_error
    assert 6 <= (limited.next_attempt_at - limited.updated_at).total_seconds() <= 8
    ticket = await run_sync(jira_client, item["id"])
    assert ticket.state == "created" and jira.count_issues(item_label(item["id"])) == 1


async def test_after_the_last_attempt_the_ticket_is_failed_with_its_error(jira_client, jira):
    jira.fail_next_create(503, count=10)
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    ticket = await run_sync(jira_client, item["id"], times=5)
    assert ticket.state == "failed" and ticket.attempts == 4 and "503" in ticket.last_error
    shown = (await jira_client.get(f"/api/v1/action-items/{item['id']}", headers=ADMIN)).json()["ticket"]
    assert shown["state"] == "failed" and "503" in shown["last_error"]
    assert jira.count_issues(item_label(item["id"])) == 0


async def test_duplicates_found_by_label_keep_the_oldest_and_are_reported(jira_client, jira):
    jira.search_lag_seconds = 30.0  # longer than the job waits between its two searches (ended below)
    jira.drop_after_create(count=2)
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    await run_sync(jira_client, item["id"])  # cannot see the first issue yet, so it creates a second
    assert jira.count_issues(item_label(item["id"])) == 2
    jira.catch_up_search()  # both are searchable now
    ticket = await run_sync(jira_client, item["id"])
    assert ticket.state == "created"
    assert len(ticket.duplicate_keys) == 1 and ticket.duplicate_keys[0] != ticket.jira_key
    assert int(ticket.jira_key.split("-")[1]) < int(ticket.duplicate_keys[0].split("-")[1])
    assert ticket.last_error == (f"duplicate Jira issues for this action item: {ticket.duplicate_keys[0]} "
                                 f"(kept the oldest, {ticket.jira_key})")


async def test_the_sweeper_resubmits_a_ticket_a_lost_job_left_pending(jira_client, jira):
    lose_sync_jobs(jira_client)
    item = await ticketed_item(jira_client)
    assert (await ticket_row(jira_client, item["id"])).state == "pending"
    jira_client.runtime.queue.submit = jira_client.runtime.queue.submit_real
    assert await sweep_tickets(jira_client.runtime.ctx) == 1
    await jira_client.runtime.queue.drain()
    assert (await ticket_row(jira_client, item["id"])).state == "created"
    assert jira.count_issues(item_label(item["id"])) == 1
    assert await sweep_tickets(jira_client.runtime.ctx) == 0


async def test_a_healthy_created_ticket_is_not_replaced_by_a_link(jira_client, jira):
    item = await ticketed_item(jira_client)
    await jira_client.runtime.queue.drain()
    other = jira.get_issue((await ticket_row(jira_client, item["id"])).jira_key)
    response = await jira_client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN,
                                       json={"jira_key": other["key"]})
    assert response.status_code == 409
    assert response.json()["error"] == "ticket_exists"
    assert (await ticket_row(jira_client, item["id"])).state == "created"
