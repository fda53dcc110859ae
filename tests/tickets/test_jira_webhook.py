"""`POST /webhooks/jira`: every real payload is accepted once and handled; the ticket's issue drives its item.

Deliveries go through the real route (signature over the exact bytes, the inbox, the
handling job); tickets are created through the API and the outbox job against the Jira stand-in.
"""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.runtime import apply_inbox
from app.integrations.jira.signature import sign, verify_signature
from app.models.tickets import Ticket
from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.factories import audit_entries
from tests.support.jira import (
    ticket_row,
    JIRA_FIXTURES,
    JIRA_SECRET,
    create_standin_issue,
    deleted_event,
    issue_event,
    post_jira,
    ticketed_item,
)

PAYLOADS = sorted(p for p in JIRA_FIXTURES.glob("*/*.json") if p.name != "rest_shapes.json")
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- helpers -------------------------------------------------------------------------------------------------


async def jira_rows(runtime) -> list[dict]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(sa.text(
            "SELECT id, external_id, event_type, handled_at, error, attempts FROM inbound_events "
            "WHERE source = 'jira' ORDER BY received_at, external_id"))
        return [dict(row._mapping) for row in rows]


async def live_ticket(client) -> tuple[dict, Ticket]:
    """An action item whose Jira issue has been created (outbox drained)."""
    item = await ticketed_item(client)
    await client.runtime.queue.drain()
    ticket = await ticket_row(client, item["id"])
    assert ticket.state == "created" and ticket.jira_id and ticket.jira_key, ticket.state
    return item, ticket


async def deliver(client, body: dict | bytes, identifier: str | None = None) -> None:
    response = await post_jira(client, body, identifier=identifier or f"test-{uuid.uuid4()}")
    assert response.status_code == 202, response.text
    await client.runtime.queue.drain()


async def item_of(client, item_id: str) -> dict:
    response = await client.get(f"/api/v1/action-items/{item_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def snapshot(client, item_id: str) -> tuple:
    """Everything a webhook could change about an item: the item, its ticket row, the audit trail."""
    ticket = await ticket_row(client, item_id)
    return (await item_of(client, item_id),
            (ticket.state, ticket.jira_key, ticket.jira_id, ticket.status_category, ticket.resolution,
             ticket.jira_updated_at),
            await audit_entries(client.runtime))


async def gate_codes(client, postmortem_id: str) -> dict[str, list]:
    response = await client.get(f"/api/v1/gates/postmortems/{postmortem_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return {v["code"]: v["ids"] for v in response.json()["violations"]}


def assert_all_handled(rows: list[dict]) -> None:
    problems = [(r["external_id"], r["error"]) for r in rows if r["handled_at"] is None or r["error"] is not None]
    assert problems == [], f"inbound Jira events not handled cleanly: {problems}"


# --- every real payload --------------------------------------------------------------------------------------


def test_the_fixture_set_is_complete():
    names = {f"{p.parent.name}/{p.name}" for p in PAYLOADS}
    assert len([n for n in names if n.startswith("captured/")]) == 48
    assert {"documented/webhook_issue_created.json", "documented/webhook_issue_deleted.json",
            "documented/webhook_issue_updated_done.json"} <= names


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_every_payload_is_accepted_once_and_handled(jira_client, jira, path):
    raw = path.read_bytes()
    identifier = f"fixture-{path.parent.name}-{path.stem}"
    first = await post_jira(jira_client, raw, identifier=identifier)
    assert (first.status_code, first.json()) == (202, {"status": "accepted"}), first.text
    again = await post_jira(jira_client, raw, identifier=identifier)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"}), again.text
    await jira_client.runtime.queue.drain()

    [row] = await jira_rows(jira_client.runtime)
    assert row["external_id"] == identifier
    assert row["event_type"] == (json.loads(raw).get("webhookEvent") or "unknown")
    assert_all_handled([row])
    assert row["attempts"] == 1
    # The issues are unknown to Loopgate: nothing was created or changed.
    assert await count_rows(jira_client.runtime, "tickets") == 0
    assert await count_rows(jira_client.runtime, "action_items") == 0
    assert [e for e in await audit_entries(jira_client.runtime) if e[0].startswith("jira")] == []


async def test_all_payloads_leave_a_live_ticket_of_another_issue_alone(jira_client, jira):
    for n in range(5):  # the captures use issue ids 10000-10003: keep ours clear of them
        create_standin_issue(jira, summary=f"filler {n}")
    item, ticket = await live_ticket(jira_client)
    captured_ids = {str((json.loads(p.read_bytes()).get("issue") or {}).get("id")) for p in PAYLOADS}
    assert ticket.jira_id not in captured_ids and not ticket.jira_key.startswith(("TEST-", "BUG-"))
    before = await snapshot(jira_client, item["id"])
    for path in PAYLOADS:
        response = await post_jira(jira_client, path.read_bytes(), identifier=f"all-{path.parent.name}-{path.stem}")
        assert response.status_code == 202, (path.name, response.text)
    await jira_client.runtime.queue.drain()
    rows = await jira_rows(jira_client.runtime)
    assert len(rows) == len(PAYLOADS)
    assert_all_handled(rows)
    assert await snapshot(jira_client, item["id"]) == before


async def test_without_an_identifier_the_body_hash_is_the_dedupe_key(jira_client, jira):
    raw = (JIRA_FIXTURES / "documented" / "webhook_issue_created.json").read_bytes()
    first = await post_jira(jira_client, raw)
    assert (first.status_code, first.json()) == (202, {"status": "accepted"})
    again = await post_jira(jira_client, raw)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    other = await post_jira(jira_client, raw + b"\n")  # another body, another hash
    assert other.status_code == 202
    await jira_client.runtime.queue.drain()
    rows = await jira_rows(jira_client.runtime)
    digests = {hashlib.sha256(raw).hexdigest(), hashlib.sha256(raw + b"\n").hexdigest()}
    assert len(rows) == 2
    assert {next(d for d in digests if r["external_id"].endswith(d)) for r in rows} == digests
    assert_all_handled(rows)


async def test_the_same_body_under_two_identifiers_is_two_deliveries(jira_client, jira):
    raw = (JIRA_FIXTURES / "documented" / "webhook_issue_created.json").read_bytes()
    assert (await post_jira(jira_client, raw, identifier="1001")).status_code == 202
    assert (await post_jira(jira_client, raw, identifier="1002")).status_code == 202
    assert (await post_jira(jira_client, raw, identifier="1001")).status_code == 200
    await jira_client.runtime.queue.drain()
    assert sorted(r["external_id"] for r in await jira_rows(jira_client.runtime)) == ["1001", "1002"]


# --- signature, size, shape ----------------------------------------------------------------------------------


def documented_headers() -> dict[str, str]:
    """The first header block of webhook_headers_example.txt (lower-case names, as Jira sends them)."""
    headers: dict[str, str] = {}
    text = (JIRA_FIXTURES / "documented" / "webhook_headers_example.txt").read_text()
    for line in text.split("\n\n# Same delivery")[0].splitlines():
        if line.startswith("#") or ":" not in line or line.startswith("POST "):
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


async def test_the_documented_signature_verifies_over_the_exact_file_bytes(jira_client, jira):
    raw = (JIRA_FIXTURES / "documented" / "webhook_issue_updated_done.json").read_bytes()
    headers = documented_headers()
    assert len(raw) == 7320
    assert headers["x-hub-signature"].startswith("sha256=")
    assert verify_signature(raw, headers["x-hub-signature"], JIRA_SECRET.encode())
    assert sign(raw, JIRA_SECRET.encode()) == headers["x-hub-signature"]
    # Re-serialised JSON is other bytes: the same signature must not verify it.
    compact = json.dumps(json.loads(raw)).encode()
    assert not verify_signature(compact, headers["x-hub-signature"], JIRA_SECRET.encode())

    response = await jira_client.post("/webhooks/jira", content=raw, headers=headers)
    assert (response.status_code, response.json()) == (202, {"status": "accepted"}), response.text
    retried = await jira_client.post("/webhooks/jira", content=raw,
                                     headers={**headers, "x-atlassian-webhook-retry": "1"})
    assert (retried.status_code, retried.json()) == (200, {"status": "duplicate"})
    refused = await jira_client.post("/webhooks/jira", content=compact, headers=headers)
    assert refused.status_code == 401
    await jira_client.runtime.queue.drain()
    [row] = await jira_rows(jira_client.runtime)
    assert row["external_id"] == headers["x-atlassian-webhook-identifier"] == "69312270414585119"
    assert_all_handled([row])


RAW = (JIRA_FIXTURES / "documented" / "webhook_issue_updated_done.json").read_bytes()
WRONG_SIGNATURES = {
    "missing": None,
    "empty": "",
    "zeros": "sha256=" + "0" * 64,
    "other secret": sign(RAW, b"not-the-secret"),
    "sha1 algorithm": "sha1=" + hmac.new(JIRA_SECRET.encode(), RAW, hashlib.sha1).hexdigest(),
    "no algorithm prefix": sign(RAW, JIRA_SECRET.encode()).removeprefix("sha256="),
    "over another body": sign(RAW + b" ", JIRA_SECRET.encode()),
    "truncated": sign(RAW, JIRA_SECRET.encode())[:-2],
}


@pytest.mark.parametrize("name", WRONG_SIGNATURES)
async def test_a_missing_or_wrong_signature_is_401_and_stores_nothing(jira_client, jira, name):
    signature = WRONG_SIGNATURES[name]
    response = await post_jira(jira_client, RAW, identifier="sig-1", secret=None, signature=signature)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    await jira_client.runtime.queue.drain()
    assert await jira_rows(jira_client.runtime) == []


async def test_no_secret_configured_is_401(client, runtime):
    """The plain app has no LOOPGATE_JIRA_WEBHOOK_SECRET: every delivery is refused."""
    response = await post_jira(client, RAW, identifier="no-secret")
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert await jira_rows(runtime) == []


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    head, tail = b'{"webhookEvent":"jira:issue_updated","pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def chunks(raw: bytes):
    for start in range(0, len(raw), 65536):
        yield raw[start:start + 65536]


async def test_a_body_over_the_limit_is_413_before_the_signature_is_looked_at(jira_client, jira):
    limit = jira_client.runtime.settings.max_body_bytes
    over = padded(limit + 1)
    assert len(over) == limit + 1
    signed = await post_jira(jira_client, over, identifier="big-1")
    assert signed.status_code == 413, signed.text
    assert signed.json()["error"] == "payload_too_large"
    unsigned = await post_jira(jira_client, over, identifier="big-2", secret=None)
    assert unsigned.status_code == 413  # size first, then the signature
    streamed = await jira_client.post("/webhooks/jira", content=chunks(over),
                                      headers={"X-Hub-Signature": sign(over, JIRA_SECRET.encode()),
                                               "X-Atlassian-Webhook-Identifier": "big-3"})
    assert streamed.status_code == 413  # no Content-Length: counted while reading
    await jira_client.runtime.queue.drain()
    assert await jira_rows(jira_client.runtime) == []
    exact = await post_jira(jira_client, padded(limit), identifier="exactly-the-limit")
    assert exact.status_code == 202, exact.text


@pytest.mark.parametrize("raw", [b"not json", b"{\"webhookEvent\": ", b"[1, 2, 3]", b'[{"webhookEvent": "x"}]',
                                 b'"jira:issue_updated"', b"42", b"null", b"\xff\xfe{}", b""],
                         ids=["text", "truncated", "array", "array of objects", "string", "number", "null",
                              "not utf-8", "empty"])
async def test_a_body_that_is_not_a_json_object_is_400(jira_client, jira, raw):
    response = await post_jira(jira_client, raw, identifier="bad-body")
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) >= {"error", "message"}
    await jira_client.runtime.queue.drain()
    assert await jira_rows(jira_client.runtime) == []


# --- a real ticket -------------------------------------------------------------------------------------------


async def test_done_completes_the_action_item(jira_client, jira):
    item, ticket = await live_ticket(jira_client)
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done",
                                           updated=at(1)))
    done = await item_of(jira_client, item["id"])
    assert done["status"] == "completed"
    assert done["completed_at"] is not None and done["closed_at"] is not None
    assert done["ticket"]["status_category"] == "done" and done["ticket"]["state"] == "created"
    assert ("jira", "action_item.status_from_jira", "action_item", item["id"]) in await audit_entries(
        jira_client.runtime, item["id"])
    assert_all_handled(await jira_rows(jira_client.runtime))


@pytest.mark.parametrize("resolution", ["Won't Do", "Duplicate"])
async def test_done_with_a_wont_do_resolution_is_wont_do(jira_client, jira, resolution):
    item, ticket = await live_ticket(jira_client)
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done",
                                           resolution=resolution, updated=at(1)))
    shown = await item_of(jira_client, item["id"])
    assert shown["status"] == "wont_do"
    assert shown["closed_at"] is not None and shown["completed_at"] is None


async def test_leaving_done_reopens_and_clears_the_timestamps(jira_client, jira):
    item, ticket = await live_ticket(jira_client)
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done",
                                           updated=at(1)))
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="indeterminate",
                                           resolution=None, updated=at(2)))
    reopened = await item_of(jira_client, item["id"])
    assert reopened["status"] == "in_progress"
    assert reopened["completed_at"] is None and reopened["closed_at"] is None
    assert reopened["ticket"]["status_category"] == "indeterminate"
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="new",
                                           resolution=None, updated=at(3)))
    assert (await item_of(jira_client, item["id"]))["status"] == "open"


@pytest.mark.parametrize("newest", ["done", "indeterminate"])
@pytest.mark.parametrize("order", ["newest first", "oldest first"])
async def test_a_stale_update_never_overwrites_a_newer_one(jira_client, jira, newest, order):
    item, ticket = await live_ticket(jira_client)
    older = "indeterminate" if newest == "done" else "done"
    new_body = issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category=newest,
                           resolution="Done" if newest == "done" else None, updated=at(10))
    old_body = issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category=older,
                           resolution="Done" if older == "done" else None, updated=at(5))
    for body in ([new_body, old_body] if order == "newest first" else [old_body, new_body]):
        await deliver(jira_client, body)
    shown = await item_of(jira_client, item["id"])
    expected = {"done": "completed", "indeterminate": "in_progress"}[newest]
    assert shown["status"] == expected, f"{order}: the update from {at(5)} overwrote the one from {at(10)}"
    assert shown["ticket"]["status_category"] == newest
    assert (await ticket_row(jira_client, item["id"])).jira_updated_at == at(10)
    assert_all_handled(await jira_rows(jira_client.runtime))


async def test_issue_deleted_marks_the_ticket_missing_and_the_gate_says_so(jira_client, jira):
    item, ticket = await live_ticket(jira_client)
    assert "ticket_missing" not in await gate_codes(jira_client, item["postmortem_id"])
    jira.delete_issue(ticket.jira_key)
    await deliver(jira_client, deleted_event(issue_id=ticket.jira_id, key=ticket.jira_key))
    assert (await ticket_row(jira_client, item["id"])).state == "missing"
    assert (await item_of(jira_client, item["id"]))["ticket"]["state"] == "missing"
    codes = await gate_codes(jira_client, item["postmortem_id"])
    assert codes["ticket_missing"] == [item["id"]]
    assert "finding_without_ticket" in codes
    assert ("jira", "ticket.missing", "action_item", item["id"]) in await audit_entries(jira_client.runtime,
                                                                                           item["id"])
    assert_all_handled(await jira_rows(jira_client.runtime))


async def test_an_update_made_before_the_deletion_but_delivered_after_it_does_not_revive_the_ticket(jira_client,
                                                                                                    jira):
    """Jira does not promise delivery order: the delete (at +3 min) may overtake an update made at +2 min."""
    item, ticket = await live_ticket(jira_client)
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done",
                                           updated=at(1)))
    await deliver(jira_client, deleted_event(issue_id=ticket.jira_id, key=ticket.jira_key, at=at(3)))
    assert (await ticket_row(jira_client, item["id"])).state == "missing"
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="indeterminate",
                                           resolution=None, updated=at(2)))
    state = (await ticket_row(jira_client, item["id"])).state
    assert state == "missing", (
        f"a jira:issue_updated whose fields.updated ({at(2)}) is older than the jira:issue_deleted delivery "
        f"(timestamp {at(3)}) brought the deleted ticket back to {state!r}: the gate no longer reports "
        "ticket_missing for an issue that no longer exists in Jira")
    assert "ticket_missing" in await gate_codes(jira_client, item["postmortem_id"])


async def test_a_webhook_for_an_issue_loopgate_does_not_know_changes_nothing(jira_client, jira):
    item, ticket = await live_ticket(jira_client)
    before = await snapshot(jira_client, item["id"])
    await deliver(jira_client, issue_event(issue_id="99999", key="ELSE-7", category="done", updated=at(1)))
    await deliver(jira_client, deleted_event(issue_id="99998", key="ELSE-8", at=at(2)))
    assert await snapshot(jira_client, item["id"]) == before
    rows = await jira_rows(jira_client.runtime)
    assert len(rows) == 2
    assert_all_handled(rows)


async def test_a_status_patch_on_a_ticketed_item_is_409_status_owned_by_jira(jira_client, jira):
    item, ticket = await live_ticket(jira_client)
    for status in ("completed", "wont_do", "in_progress"):
        response = await jira_client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN,
                                           json={"status": status})
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "status_owned_by_jira"
    assert (await item_of(jira_client, item["id"]))["status"] == "open"
    await deliver(jira_client, issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done",
                                           updated=at(1)))
    response = await jira_client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN, json={"status": "open"})
    assert response.status_code == 409 and response.json()["error"] == "status_owned_by_jira"
    assert (await item_of(jira_client, item["id"]))["status"] == "completed"
    edited = await jira_client.patch(f"/api/v1/action-items/{item['id']}", headers=ADMIN, json={"owner": "sam"})
    assert edited.status_code == 200 and edited.json()["owner"] == "sam"  # other fields stay editable


async def test_the_handling_job_run_twice_changes_nothing_the_second_time(jira_client, jira, clock):
    item, ticket = await live_ticket(jira_client)
    body = issue_event(issue_id=ticket.jira_id, key=ticket.jira_key, category="done", updated=at(1))
    await deliver(jira_client, body, identifier="twice-1")
    [row] = await jira_rows(jira_client.runtime)
    before = await snapshot(jira_client, item["id"])
    assert before[0]["status"] == "completed"
    clock.advance(hours=1)
    for _ in range(2):
        assert await apply_inbox(jira_client.runtime.ctx, True) == 0  # a handled row is never claimed again
    assert await snapshot(jira_client, item["id"]) == before
    assert await jira_rows(jira_client.runtime) == [row]  # handled_at and attempts untouched
    # The same change delivered again under another identifier (a second webhook) is applied as a no-op.
    clock.advance(hours=1)
    await deliver(jira_client, body, identifier="twice-2")
    assert await snapshot(jira_client, item["id"]) == before
    assert_all_handled(await jira_rows(jira_client.runtime))


async def test_a_nul_or_lone_surrogate_in_a_body_is_stored_replaced_and_handled(jira_client, jira):
    raw = (JIRA_FIXTURES / "documented" / "webhook_issue_created.json").read_bytes()
    payload = json.loads(raw)
    payload["webhookEvent"] = "jira:issue_created"
    text = json.dumps(payload).replace('"webhookEvent": "jira:issue_', '"webhookEvent": "jira:\\u0000issue_\\ud800')
    response = await post_jira(jira_client, text.encode(), identifier="nul-and-surrogate")
    assert response.status_code == 202, response.text
    await jira_client.runtime.queue.drain()
    [row] = await jira_rows(jira_client.runtime)
    assert row["event_type"] == "jira:\ufffdissue_\ufffdcreated"
    assert_all_handled([row])
