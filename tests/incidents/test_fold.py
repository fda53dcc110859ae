"""The pure fold of PagerDuty events into an incident (app/incidents/fold.py).

Every test builds a history with the documented v3 shapes (tests/support/pagerduty.py) and
checks the state a user would see on the incident.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.core.settings import Settings
from app.incidents.fold import EventRecord, fingerprint, fold, normalise, parse_time
from tests.support.pagerduty import fixture_bytes, incident_event, note_event

INC = "PINC001"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEFAULTS = Settings(_env_file=None)
BY_PRIORITY = DEFAULTS.priority_severity
BY_URGENCY = DEFAULTS.urgency_severity


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def when(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(delivery: dict) -> EventRecord:
    """The EventRecord the service builds from a stored delivery."""
    event = delivery["event"]
    return EventRecord(event["id"], event["event_type"], parse_time(event["occurred_at"]), event.get("agent"),
                       event["data"])


def snapshot(event_id: str, kind: str, minutes: float, *, status: str, incident: str = INC, **fields) -> EventRecord:
    fields.setdefault("created_at", at(0))
    return record(incident_event(event_id, f"incident.{kind}", at(minutes), incident, status=status, **fields))


def note(event_id: str, minutes: float, content: str = "a note", incident: str = INC) -> EventRecord:
    return record(note_event(event_id, at(minutes), incident, content))


def run(events, **maps) -> object:
    maps.setdefault("by_priority", BY_PRIORITY)
    maps.setdefault("by_urgency", BY_URGENCY)
    return fold(events, **maps)


def lifecycle() -> list[EventRecord]:
    """Triggered, acknowledged, a note, priority raised, escalated, resolved: one incident's day."""
    return [
        snapshot("E1", "triggered", 0, status="triggered", priority="P3"),
        snapshot("E2", "acknowledged", 2, status="acknowledged", priority="P3"),
        note("E3", 3, "Rolled back the deploy."),
        snapshot("E4", "priority_updated", 4, status="acknowledged", priority="P1"),
        snapshot("E5", "escalated", 5, status="acknowledged", priority="P1"),
        snapshot("E6", "resolved", 9, status="resolved", priority="P1"),
    ]


# --- ordering ---------------------------------------------------------------------------------------------


def test_the_lifecycle_in_order():
    state = run(lifecycle())
    assert state.external_id == INC
    assert state.status == "resolved"
    assert state.priority == "P1" and state.severity == "critical"
    assert state.triggered_at == when(0)
    assert state.acknowledged_at == when(2)
    assert state.resolved_at == when(9)
    assert state.last_event_at == when(9)
    assert state.reopened_count == 0
    assert state.reported_by == "human"
    assert state.title == "Checkout API p99 latency > 2s"
    assert state.service_id == "PSV81QA" and state.service_name == "Checkout API"
    assert state.teams == [{"id": "PTM0PAY", "name": "Payments"}]


@pytest.mark.parametrize("seed", range(20))
def test_shuffled_events_give_the_same_state(seed):
    expected = run(lifecycle())
    events = lifecycle()
    random.Random(seed).shuffle(events)
    assert run(events) == expected


def test_a_late_older_event_does_not_overwrite_newer_status_or_priority():
    newer = [
        snapshot("E1", "triggered", 0, status="triggered", priority="P3"),
        snapshot("E4", "priority_updated", 4, status="triggered", priority="P1"),
        snapshot("E6", "resolved", 9, status="resolved", priority="P1"),
    ]
    # The acknowledgement (at minute 2, still P3 then) arrives after the resolve.
    late_ack = snapshot("E2", "acknowledged", 2, status="acknowledged", priority="P3")
    state = run([*newer, late_ack])
    assert state.status == "resolved"
    assert state.priority == "P1" and state.severity == "critical"
    assert state.resolved_at == when(9)
    assert state.last_event_at == when(9)
    # ...but its fact still counts.
    assert state.acknowledged_at == when(2)


def test_the_earliest_acknowledgement_counts_whatever_the_arrival_order():
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E5", "acknowledged", 5, status="acknowledged"),
        snapshot("E6", "unacknowledged", 6, status="triggered"),
        snapshot("E8", "acknowledged", 8, status="acknowledged"),
        snapshot("E2", "acknowledged", 2, status="acknowledged"),  # late, the earliest of all
    ]
    state = run(events)
    assert state.acknowledged_at == when(2)
    assert state.status == "acknowledged"


def test_unacknowledged_is_the_newest_status():
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E3", "unacknowledged", 3, status="triggered"),
        snapshot("E2", "acknowledged", 2, status="acknowledged"),
    ]
    state = run(events)
    assert state.status == "triggered"
    assert state.acknowledged_at == when(2)


def test_a_late_note_on_a_resolved_incident_changes_nothing_but_is_history():
    base = lifecycle()
    with_late_note = [*base, note("E0", 1, "first look")]
    before, after = run(base), run(with_late_note)
    assert after.status == before.status == "resolved"
    assert after.resolved_at == before.resolved_at
    assert after.last_event_at == when(9)


def test_same_time_events_are_ordered_by_event_id():
    a = snapshot("A", "acknowledged", 1, status="acknowledged")
    b = snapshot("B", "resolved", 1, status="resolved")
    trigger = snapshot("E0", "triggered", 0, status="triggered")
    assert run([b, a, trigger]).status == "resolved"
    assert run([a, b, trigger]) == run([trigger, b, a])


# --- resolve, reopen, merge -------------------------------------------------------------------------------


def test_reopen_increments_reopened_count_and_clears_resolved_at():
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E2", "resolved", 5, status="resolved"),
        snapshot("E3", "reopened", 7, status="triggered"),
    ]
    state = run(events)
    assert state.reopened_count == 1
    assert state.status == "triggered"
    assert state.resolved_at is None


def test_resolve_after_reopen_sets_the_later_resolved_at():
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E2", "resolved", 5, status="resolved"),
        snapshot("E3", "reopened", 7, status="triggered"),
        snapshot("E4", "acknowledged", 8, status="acknowledged"),
        snapshot("E5", "resolved", 12, status="resolved"),
        snapshot("E6", "reopened", 20, status="triggered"),
        snapshot("E7", "resolved", 30, status="resolved"),
    ]
    for seed in range(5):
        random.Random(seed).shuffle(events)
        state = run(events)
        assert state.status == "resolved"
        assert state.reopened_count == 2
        assert state.resolved_at == when(30)
        assert state.acknowledged_at == when(8)


def test_a_snapshot_after_the_resolve_keeps_the_resolve_time():
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E2", "resolved", 5, status="resolved", priority="P2"),
        snapshot("E3", "priority_updated", 6, status="resolved", priority="P1"),
    ]
    state = run(events)
    assert state.resolved_at == when(5)
    assert state.priority == "P1"


def test_merge_resolve_names_the_incident_it_was_merged_into():
    reason = {"type": "merge_resolve_reason",
              "incident": {"id": "PTARGET", "type": "incident_reference", "summary": "[#7] the survivor"}}
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E2", "resolved", 4, status="resolved", resolve_reason=reason),
    ]
    state = run(events)
    assert state.status == "resolved"
    assert state.merged_into_external_id == "PTARGET"
    assert state.resolved_at == when(4)


def test_reopen_after_a_merge_clears_the_merge_and_a_plain_resolve_does_not_bring_it_back():
    reason = {"type": "merge_resolve_reason", "incident": {"id": "PTARGET", "type": "incident_reference"}}
    events = [
        snapshot("E1", "triggered", 0, status="triggered"),
        snapshot("E2", "resolved", 4, status="resolved", resolve_reason=reason),
        snapshot("E3", "reopened", 6, status="triggered"),
    ]
    assert run(events).merged_into_external_id is None
    events.append(snapshot("E4", "resolved", 9, status="resolved"))
    state = run(events)
    assert state.merged_into_external_id is None
    assert state.resolved_at == when(9)


def test_the_documented_merge_fixture():
    import json

    delivery = json.loads(fixture_bytes("webhook_incident_resolved_merged.json"))
    state = run([record(delivery)])
    assert state.merged_into_external_id == "Q2W7ZL4MB6XN0T"
    assert state.status == "resolved"
    assert state.resolved_at == parse_time(delivery["event"]["occurred_at"])
    assert state.triggered_at == datetime(2025, 3, 14, 8, 59, 2, tzinfo=UTC)  # created_at, not the first event


# --- severity -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("priority", "urgency", "severity"), [
    ("P1", "high", "critical"),
    ("P2", "low", "high"),
    ("P3", "high", "medium"),
    ("P4", "high", "low"),
    ("P5", "high", "low"),
    (None, "high", "high"),
    (None, "low", "low"),
    ("SEV-CUSTOM", "low", "low"),  # a priority name the map does not know falls back to urgency
])
def test_severity_from_priority_else_urgency(priority, urgency, severity):
    state = run([snapshot("E1", "triggered", 0, status="triggered", priority=priority, urgency=urgency)])
    assert state.priority == priority
    assert state.severity == severity


def test_severity_follows_the_newest_priority_and_a_removed_priority_falls_back_to_urgency():
    events = [
        snapshot("E1", "triggered", 0, status="triggered", priority="P1", urgency="low"),
        snapshot("E2", "priority_updated", 3, status="triggered", priority=None, urgency="low"),
    ]
    state = run(events)
    assert state.priority is None
    assert state.severity == "low"


def test_the_severity_maps_are_configurable():
    custom = Settings(_env_file=None, priority_severity_map="P1=sev1,P2=sev2,Urgent=sev1",
                      urgency_severity_map="high=sev2,low=sev4")
    maps = {"by_priority": custom.priority_severity, "by_urgency": custom.urgency_severity}
    assert run([snapshot("E1", "triggered", 0, status="triggered", priority="Urgent")], **maps).severity == "sev1"
    assert run([snapshot("E1", "triggered", 0, status="triggered", priority="P2")], **maps).severity == "sev2"
    # P3 is not in this map: urgency decides.
    assert run([snapshot("E1", "triggered", 0, status="triggered", priority="P3", urgency="low")],
               **maps).severity == "sev4"
    assert run([snapshot("E1", "triggered", 0, status="triggered", urgency="high")], **maps).severity == "sev2"


def test_the_settings_read_the_maps_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOOPGATE_PRIORITY_SEVERITY_MAP", "P1=blocker, P2=major")
    monkeypatch.setenv("LOOPGATE_URGENCY_SEVERITY_MAP", "high=major")
    settings = Settings(_env_file=None)
    assert settings.priority_severity == {"P1": "blocker", "P2": "major"}
    assert settings.urgency_severity == {"high": "major"}


def test_the_default_maps_are_the_documented_ones():
    assert BY_PRIORITY == {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "low"}
    assert BY_URGENCY == {"high": "high", "low": "low"}


# --- reported_by ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("agent_type", "reported_by"), [
    ("user_reference", "human"),
    ("service_reference", "automation"),
    ("integration_reference", "automation"),
])
def test_reported_by_comes_from_the_triggering_agent(agent_type, reported_by):
    events = [
        snapshot("E1", "triggered", 0, status="triggered", agent_type=agent_type),
        # A person acknowledging an automated incident does not make it human-reported.
        snapshot("E2", "acknowledged", 1, status="acknowledged", agent_type="user_reference"),
    ]
    assert run(events).reported_by == reported_by


def test_a_trigger_without_an_agent_is_automation():
    delivery = incident_event("E1", "incident.triggered", at(0), INC)
    delivery["event"]["agent"] = None
    assert run([record(delivery)]).reported_by == "automation"


def test_reported_by_is_unknown_until_the_trigger_is_seen():
    events = [snapshot("E2", "acknowledged", 1, status="acknowledged", agent_type="user_reference")]
    assert run(events).reported_by is None
    late_trigger = snapshot("E1", "triggered", 0, status="triggered", agent_type="service_reference")
    assert run([*events, late_trigger]).reported_by == "automation"


# --- fingerprint ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "normalised"), [
    ("DB-42 latency 300ms", "db-# latency #ms"),
    ("db-7  latency 12ms", "db-# latency #ms"),
    ("  Disk   full on\thost-0017\n", "disk full on host-#"),
    ("v1.2.3 rollout", "v#.#.# rollout"),
    ("No digits HERE", "no digits here"),
])
def test_normalise(text, normalised):
    assert normalise(text) == normalised


def test_titles_that_differ_only_in_numbers_case_and_spacing_share_a_fingerprint():
    a = run([snapshot("E1", "triggered", 0, status="triggered", title="DB-42 latency 300ms")])
    b = run([snapshot("E2", "triggered", 0, status="triggered", incident="PINC002", title="db-7  latency 12ms")])
    assert a.fingerprint == b.fingerprint == "PSV81QA:db-# latency #ms"


def test_the_fingerprint_prefers_the_incident_key_and_includes_the_service():
    state = run([snapshot("E1", "triggered", 0, status="triggered", title="Anything", incident_key="Disk-FULL/42")])
    assert state.fingerprint == "PSV81QA:disk-full/#"
    other_service = run([snapshot("E1", "triggered", 0, status="triggered", title="DB-42 latency 300ms",
                                  service_id="POTHER")])
    assert other_service.fingerprint == "POTHER:db-# latency #ms"
    assert fingerprint("PSV81QA", None, "DB-42 latency 300ms") != fingerprint("POTHER", None, "DB-42 latency 300ms")


def test_the_fingerprint_follows_the_newest_title():
    events = [
        snapshot("E1", "triggered", 0, status="triggered", title="Old title 1"),
        snapshot("E2", "acknowledged", 1, status="acknowledged", title="New title 2"),
    ]
    state = run(events)
    assert state.title == "New title 2"
    assert state.fingerprint == "PSV81QA:new title #"


# --- sub-resource events ---------------------------------------------------------------------------------------


def responder_event(event_id: str, minutes: float, incident: str, summary: str) -> EventRecord:
    data = {"incident": {"id": incident, "type": "incident_reference", "summary": summary,
                         "html_url": f"https://acme.pagerduty.com/incidents/{incident}"},
            "user": {"id": "PUSER", "type": "user_reference", "summary": "Sam Ortiz"},
            "message": "Please help", "state": "pending", "type": "incident_responder"}
    return EventRecord(event_id, "incident.responder.added", when(minutes),
                       {"id": "PUSER", "type": "user_reference"}, data)


def test_a_note_on_an_unknown_incident_takes_its_title_from_the_reference():
    delivery = note_event("E9", at(3), "PUNKNOWN", "Investigating")
    delivery["event"]["data"]["incident"]["summary"] = "Payments queue backlog"
    state = run([record(delivery)])
    assert state.external_id == "PUNKNOWN"
    assert state.title == "Payments queue backlog"
    assert state.triggered_at == when(3)  # the first thing we know of it
    assert state.reported_by is None
    assert state.fingerprint == ":payments queue backlog"


def test_a_responder_event_on_an_unknown_incident_takes_its_title_and_link_from_the_reference():
    state = run([responder_event("E9", 3, "PUNKNOWN", "Critical: Checkout API High Latency")])
    assert state.external_id == "PUNKNOWN"
    assert state.title == "Critical: Checkout API High Latency"
    assert state.html_url == "https://acme.pagerduty.com/incidents/PUNKNOWN"
    assert state.status == "triggered"


def test_the_snapshot_title_wins_once_the_incident_itself_arrives():
    events = [
        responder_event("E9", 3, INC, "[#1] Checkout API p99 latency > 2s"),
        snapshot("E1", "triggered", 0, status="triggered", title="Checkout API p99 latency > 2s"),
    ]
    state = run(events)
    assert state.title == "Checkout API p99 latency > 2s"
    assert state.triggered_at == when(0)
    assert state.last_event_at == when(3)


def test_the_captured_sub_resource_fixtures_fold():
    import json

    for name in ("annotated_v3.json", "responder_added.json"):
        delivery = json.loads(fixture_bytes(name))
        state = run([record(delivery)])
        assert state.external_id == delivery["event"]["data"]["incident"]["id"], name
        assert state.title == delivery["event"]["data"]["incident"]["summary"], name
