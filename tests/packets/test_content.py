"""The packet's content as a pure function of the facts."""

from datetime import UTC, datetime

from app.incidents.fold import EventRecord
from app.packets.content import ApiFacts, PacketInputs, build_content

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def note(note_id: str, minute: int, content: str) -> dict:
    return {"id": note_id, "created_at": T0.replace(minute=minute).isoformat(), "content": content,
            "user": {"id": "PU1", "type": "user_reference", "summary": "Dana"}}


def annotated(event_id: str, note_id: str, minute: int, content: str) -> EventRecord:
    return EventRecord(event_id, "incident.annotated", T0.replace(minute=minute),
                       {"id": "PU1", "type": "user_reference", "summary": "Dana"},
                       {"incident": {"id": "Q1"}, "id": note_id, "content": content, "type": "incident_note"})


def test_notes_with_the_same_text_are_kept_apart_and_webhook_copies_are_not_doubled():
    api = ApiFacts(notes=[note("N1", 10, "Rolled back."), note("N2", 20, "Rolled back."), note("N3", 30, "Better.")])
    events = [annotated("E1", "N1", 10, "Rolled back."), annotated("E9", "N9", 40, "Only in the webhook.")]
    content = build_content(PacketInputs(incident={}, events=events, api=api))
    assert [n["id"] for n in content["notes"]] == ["N1", "N2", "N3", "N9"]


def test_a_webhook_event_within_two_seconds_of_the_same_log_entry_appears_once():
    log = [{"id": "L1", "type": "acknowledge_log_entry", "created_at": "2026-11-20T08:03:00Z",
            "agent": {"type": "user_reference", "summary": "Dana"}, "channel": {"type": "web"}}]
    events = [EventRecord("E1", "incident.acknowledged", datetime(2026, 11, 20, 8, 3, 1, tzinfo=UTC), None,
                          {"type": "incident", "id": "Q1"}),
              EventRecord("E2", "incident.acknowledged", datetime(2026, 11, 20, 8, 9, tzinfo=UTC), None,
                          {"type": "incident", "id": "Q1"})]
    timeline = build_content(PacketInputs(incident={}, events=events, api=ApiFacts(log_entries=log)))["timeline"]
    assert [(item["source"], item["id"]) for item in timeline] == [("log_entry", "L1"), ("webhook", "E2")]
