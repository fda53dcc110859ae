"""The escalation ladder over a simulated 100 days: each notification exactly once, on the day it is due."""

import json
import uuid
from datetime import date

import httpx
import respx
import sqlalchemy as sa

from app.models.postmortems import ActionItem
from app.models.tickets import Ticket
from app.runtime import JOBS
from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, add_finding, make_incident, make_postmortem
from tests.support.notifications import subscribe

HOOK = "https://hooks.example/escalations"
TYPES = ["action_item.overdue", "action_item.escalated", "action_item.stale", "action_item.auto_closed"]


async def link_ticket(runtime, item_id: str, key: str) -> None:
    """A Jira issue a person linked: from now on Jira owns the item's status."""
    async with runtime.sessionmaker() as session:
        session.add(Ticket(action_item_id=uuid.UUID(item_id), state="linked", jira_key=key, jira_id="10001",
                           status_category="new", remote_link_added=True))
        await session.commit()


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_the_ladder_over_100_days_announces_each_rung_once(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=TYPES)
    start = clock.current.date()  # day 0, 2026-11-22
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident])
    finding = await add_finding(client, postmortem["id"], decision="ticket")
    items = {
        "A": await add_action_item(client, finding["id"], title="A", priority="P2", due_date="2026-11-27"),
        "B": await add_action_item(client, finding["id"], title="B", priority="P1", due_date="2026-12-22"),
        "C": await add_action_item(client, finding["id"], title="C", priority="P3", due_date="2027-06-10"),
        "D": await add_action_item(client, finding["id"], title="D", priority="P3", due_date="2027-06-10"),
        "E": await add_action_item(client, finding["id"], title="E", priority="P2", due_date="2026-11-27"),
        # Entered after the fact, already 21 days overdue: the owner and the directors hear of it at once.
        "F": await add_action_item(client, finding["id"], title="F", priority="P2", due_date="2026-11-01"),
    }
    await link_ticket(runtime, items["D"]["id"], "OPS-7")
    names = {item["id"]: name for name, item in items.items()}

    for day in range(101):
        if day == 3:
            assert (await client.patch(f"/api/v1/action-items/{items['E']['id']}", headers=ADMIN,
                                       json={"status": "completed"})).status_code == 200
        for _ in range(2):  # twice a day: the second run announces nothing
            await JOBS["escalate"](runtime.ctx)
            await runtime.queue.drain()
        clock.advance(days=1)

    seen = []
    for call in route.calls:
        body = json.loads(call.request.content)
        day = (date.fromisoformat(body["occurred_at"][:10]) - start).days
        seen.append((day, names[body["data"]["action_item"]["id"]], body["type"], body["data"]["level"],
                     body["data"]["reason"]))
    assert sorted(seen) == [
        (0, "F", "action_item.escalated", 2, "overdue_21_days"),
        (0, "F", "action_item.overdue", 0, "overdue_21_days"),
        (6, "A", "action_item.overdue", 0, "overdue_1_days"),
        (8, "B", "action_item.escalated", 1, "p1_open_over_7_days"),
        (13, "A", "action_item.escalated", 1, "overdue_8_days"),
        (14, "A", "action_item.stale", 0, "no_change_in_14_days"),
        (14, "B", "action_item.stale", 0, "no_change_in_14_days"),
        (14, "C", "action_item.stale", 0, "no_change_in_14_days"),
        (14, "D", "action_item.stale", 0, "no_change_in_14_days"),
        (14, "F", "action_item.stale", 0, "no_change_in_14_days"),
        (20, "A", "action_item.escalated", 2, "overdue_15_days"),
        (31, "B", "action_item.overdue", 0, "overdue_1_days"),
        (45, "B", "action_item.escalated", 2, "overdue_15_days, p1_open_over_7_days"),
        (91, "C", "action_item.auto_closed", 0, "p3_open_over_90_days"),
        (91, "D", "action_item.stale", 0, "p3_open_over_90_days"),
    ]
    async with runtime.sessionmaker() as session:
        rows = {names[str(i.id)]: i for i in await session.scalars(sa.select(ActionItem))}
    # C, with no Jira issue, is closed with a note saying why; D's status is Jira's, so it stays open.
    assert (rows["C"].status, rows["D"].status) == ("wont_do", "open")
    assert "open for over 90 days" in rows["C"].completion_notes and rows["C"].closed_at is not None
    assert {name: row.escalation_level for name, row in rows.items()} == {
        "A": 2, "B": 2, "C": 0, "D": 0, "E": 0, "F": 2}
    c = (await client.get(f"/api/v1/action-items/{items['C']['id']}", headers=ADMIN)).json()
    assert c["status"] == "wont_do"


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_a_change_starts_a_new_quiet_stretch(client, runtime, clock, respx_mock):
    route = respx_mock.post(HOOK).mock(return_value=httpx.Response(200))
    await subscribe(client, HOOK, events=["action_item.stale"])
    incident = await make_incident(client, runtime)
    finding = await add_finding(client, (await make_postmortem(client, [incident]))["id"])
    item = await add_action_item(client, finding["id"], due_date="2027-03-01")
    clock.advance(days=14)
    await JOBS["escalate"](runtime.ctx)
    await runtime.queue.drain()
    assert route.call_count == 1
    clock.advance(days=1)
    assert (await client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN,
                               json={"status": "in_progress"})).status_code == 200
    for _ in range(13):
        clock.advance(days=1)
        await JOBS["escalate"](runtime.ctx)
        await runtime.queue.drain()
    assert route.call_count == 1
    clock.advance(days=1)
    await JOBS["escalate"](runtime.ctx)
    await JOBS["escalate"](runtime.ctx)
    await runtime.queue.drain()
    assert route.call_count == 2
