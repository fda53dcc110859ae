"""The storm: 200 incidents' full histories, each delivery sent 1–3 times, shuffled, concurrently.

Zero lost, zero duplicated, and every incident ends where its events, applied in
`occurred_at` order, say it should. The expected state is worked out from the
scenario itself while it is generated, never by calling the fold.
"""

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.support.constants import ADMIN
from tests.support.db import count_rows
from tests.support.pagerduty import incident_event, note_event, post_delivery

INCIDENTS = 200
CONCURRENCY = 50
SEED = 20261122
BASE = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
SEVERITY = {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "low"}
PRIORITIES = [None, "P1", "P2", "P3", "P4", "P5"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Expected:
    external_id: str
    title: str
    urgency: str
    reported_by: str
    triggered_at: datetime
    status: str = "triggered"
    priority: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    reopened_count: int = 0
    last_event_at: datetime | None = None
    deliveries: list[dict] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return SEVERITY[self.priority] if self.priority else self.urgency


def scenario(rng: random.Random, number: int) -> Expected:
    """One incident's history, generated in time order, with the state it must end in."""
    external_id = f"PSTORM{number:04d}"
    start = BASE + timedelta(minutes=7 * number, seconds=rng.randrange(60))
    agent_type = rng.choice(["user_reference", "service_reference"])
    expected = Expected(external_id=external_id, title=f"Storm {number}: queue depth above threshold",
                        urgency=rng.choice(["high", "low"]),
                        reported_by="human" if agent_type == "user_reference" else "automation",
                        triggered_at=start, priority=rng.choice(PRIORITIES))
    now = start
    sequence = 0

    def send(kind: str, *, agent: str = "user_reference") -> None:
        nonlocal sequence
        sequence += 1
        event_id = f"{external_id}-E{sequence:02d}"
        if kind == "annotated":
            delivery = note_event(event_id, iso(now), external_id, f"note {sequence}")
        else:
            delivery = incident_event(event_id, f"incident.{kind}", iso(now), external_id, status=expected.status,
                                      title=expected.title, priority=expected.priority, urgency=expected.urgency,
                                      agent_type=agent, created_at=iso(start), number=number)
        expected.deliveries.append(delivery)
        expected.last_event_at = now

    send("triggered", agent=agent_type)
    steps = rng.randrange(1, 9)
    acknowledged_once = False
    for step in range(steps):
        now += timedelta(seconds=rng.randrange(1, 600))
        choices = ["escalated", "reassigned", "priority_updated", "annotated"]
        if expected.status == "triggered":
            choices += ["acknowledged"] * 3 + ["resolved"]
        elif expected.status == "acknowledged":
            choices += ["unacknowledged", "resolved", "resolved"]
        else:
            choices = ["reopened", "annotated"]
        if not acknowledged_once and expected.status == "triggered" and step == 0:
            choices = ["acknowledged"]
        kind = rng.choice(choices)
        if kind == "acknowledged":
            expected.status = "acknowledged"
            expected.acknowledged_at = expected.acknowledged_at or now
            acknowledged_once = True
        elif kind == "unacknowledged":
            expected.status = "triggered"
        elif kind == "resolved":
            expected.status = "resolved"
            expected.resolved_at = now
        elif kind == "reopened":
            expected.status = "triggered"
            expected.reopened_count += 1
            expected.resolved_at = None
        elif kind == "priority_updated":
            expected.priority = rng.choice([p for p in PRIORITIES if p != expected.priority])
        send(kind)
    # Most incidents end resolved, as most real ones do.
    if expected.status != "resolved" and rng.random() < 0.7:
        now += timedelta(seconds=rng.randrange(1, 600))
        expected.status = "resolved"
        expected.resolved_at = now
        send("resolved")
    return expected


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def test_the_storm(client, runtime):
    rng = random.Random(SEED)
    incidents = [scenario(rng, number) for number in range(INCIDENTS)]

    sends: list[dict] = []
    for incident in incidents:
        copies = [delivery for delivery in incident.deliveries for _ in range(rng.randint(1, 3))]
        rng.shuffle(copies)  # shuffled per incident...
        sends.extend(copies)
    rng.shuffle(sends)  # ...and interleaved across incidents
    distinct = {delivery["event"]["id"] for delivery in sends}
    assert len(distinct) == sum(len(incident.deliveries) for incident in incidents)
    assert len(sends) > len(distinct)  # there are duplicates to deduplicate

    answers: list[tuple[str, int, dict]] = []
    for start in range(0, len(sends), CONCURRENCY):
        chunk = sends[start:start + CONCURRENCY]
        responses = await asyncio.gather(*(post_delivery(client, delivery) for delivery in chunk))
        answers.extend((d["event"]["id"], r.status_code, r.json()) for d, r in zip(chunk, responses, strict=True))
    await runtime.queue.drain()

    # Every delivery answered: 202 accepted exactly once per event, 200 duplicate for every other copy.
    assert Counter(status for _, status, _ in answers) == {202: len(distinct), 200: len(sends) - len(distinct)}
    accepted = Counter(event_id for event_id, status, _ in answers if status == 202)
    assert set(accepted) == distinct and set(accepted.values()) == {1}
    for _, status, body in answers:
        assert body == ({"status": "accepted"} if status == 202 else {"status": "duplicate"})

    # Zero lost, zero duplicated, all handled.
    assert await count_rows(runtime, "inbound_events") == len(distinct)
    assert await count_rows(runtime, "incident_events") == len(distinct)
    assert await count_rows(runtime, "incidents") == INCIDENTS
    async with runtime.engine.connect() as connection:
        failed = (await connection.execute(
            text("SELECT external_id, error FROM inbound_events WHERE handled_at IS NULL OR error IS NOT NULL"))).all()
    assert failed == [], (
        f"{len(failed)} deliveries were not handled on the first try (the sweeper would retry them only later), "
        f"e.g. {[tuple(row) for row in failed[:3]]}"
    )

    listing = await client.get("/api/v1/incidents", params={"limit": 500}, headers=ADMIN)
    assert listing.status_code == 200
    body = listing.json()
    assert body["next_cursor"] is None
    seen = {item["external_id"]: item for item in body["items"]}
    assert len(body["items"]) == len(seen) == INCIDENTS

    mismatches = []
    for incident in incidents:
        got = seen[incident.external_id]
        observed = {
            "status": got["status"], "title": got["title"], "priority": got["priority"],
            "severity": got["severity"], "urgency": got["urgency"], "reported_by": got["reported_by"],
            "reopened_count": got["reopened_count"], "triggered_at": parse(got["triggered_at"]),
            "acknowledged_at": parse(got["acknowledged_at"]), "resolved_at": parse(got["resolved_at"]),
            "last_event_at": parse(got["last_event_at"]),
        }
        wanted = {
            "status": incident.status, "title": incident.title, "priority": incident.priority,
            "severity": incident.severity, "urgency": incident.urgency, "reported_by": incident.reported_by,
            "reopened_count": incident.reopened_count, "triggered_at": incident.triggered_at,
            "acknowledged_at": incident.acknowledged_at, "resolved_at": incident.resolved_at,
            "last_event_at": incident.last_event_at,
        }
        if observed != wanted:
            diff = {k: (observed[k], wanted[k]) for k in wanted if observed[k] != wanted[k]}
            mismatches.append((incident.external_id, diff))
    assert mismatches == [], f"{len(mismatches)} incidents differ (observed, expected): {mismatches[:5]}"

    # Every title normalises to "storm #: queue depth above threshold" on one service, seven minutes apart:
    # each incident is a repeat of the one triggered just before it, whatever order they arrived in.
    by_number = [seen[incident.external_id] for incident in incidents]
    assert len({item["fingerprint"] for item in by_number}) == 1
    wrong_repeats = [item["external_id"] for previous, item in zip([None, *by_number], by_number, strict=False)
                     if item["repeat_of_id"] != (previous["id"] if previous else None)]
    assert wrong_repeats == [], (
        f"BUG app/incidents/service.py _link_repeats: {len(wrong_repeats)} incidents have the wrong repeat_of_id "
        f"after concurrent handling (e.g. {wrong_repeats[:5]})"
    )

    # The scenario exercised what it claims to.
    assert Counter(i.status for i in incidents).keys() == {"triggered", "acknowledged", "resolved"}
    assert any(i.reopened_count for i in incidents)
    assert {i.severity for i in incidents} == {"critical", "high", "medium", "low"}
