"""The service deploy gate: overdue P1 action items and overdue required postmortems."""

from datetime import datetime, timedelta, timezone

import pytest

from app.gates.rules import GateResult, RequiredPostmortemFacts, ServiceActionItemFacts, evaluate_service

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def item(id="A1", *, priority="P1", status="open", due_date=TODAY - timedelta(days=1)):
    return ServiceActionItemFacts(id=id, priority=priority, status=status, due_date=due_date)


def required(incident_id="I1", *, postmortem_id=None, status=None, resolved_ago=timedelta(days=8), severity="critical"):
    return RequiredPostmortemFacts(
        incident_id=incident_id,
        postmortem_id=postmortem_id,
        postmortem_status=status,
        resolved_at=NOW - resolved_ago,
        severity=severity,
    )


def gate(action_items=(), required_postmortems=(), *, due_days=7):
    return evaluate_service(
        service="checkout",
        action_items=action_items,
        required_postmortems=required_postmortems,
        today=TODAY,
        now=NOW,
        postmortem_due_days=due_days,
    )


def test_a_service_with_nothing_passes():
    assert gate() == GateResult(passed=True)


# --- overdue P1 action items --------------------------------------------------------------

@pytest.mark.parametrize("status", ["open", "in_progress", "blocked"])
def test_overdue_p1_that_is_still_open_fails(status):
    result = gate([item("A1", status=status)])

    assert result.passed is False
    assert [(v.code, v.ids) for v in result.violations] == [("overdue_p1_action_item", ("A1",))]
    message = result.violations[0].message
    assert "A1" in message and "checkout" in message and status in message and "1 day(s) overdue" in message


@pytest.mark.parametrize(
    "action_item",
    [
        item(status="completed"),
        item(status="wont_do"),
        item(due_date=TODAY),
        item(due_date=TODAY + timedelta(days=1)),
        item(priority="P2"),
        item(priority="P3"),
        item(priority=None),
        item(due_date=None),
    ],
    ids=["completed", "wont_do", "due today", "due tomorrow", "P2", "P3", "no priority", "no due date"],
)
def test_p1_items_that_are_not_overdue_pass(action_item):
    assert gate([action_item]).passed is True


def test_each_overdue_p1_item_is_one_violation_ordered_by_id():
    items = [item("A3"), item("A1", due_date=TODAY - timedelta(days=30)), item("A2", status="completed")]

    assert [v.ids for v in gate(items).violations] == [("A1",), ("A3",)]


# --- overdue required postmortems ---------------------------------------------------------

@pytest.mark.parametrize(
    ("postmortem_id", "status"),
    [(None, None), ("PM1", "draft"), ("PM1", "in_review")],
    ids=["no postmortem", "draft", "in_review"],
)
def test_required_postmortem_still_open_past_due_days_fails(postmortem_id, status):
    result = gate(required_postmortems=[required("I1", postmortem_id=postmortem_id, status=status)])

    assert result.passed is False
    (violation,) = result.violations
    assert (violation.code, violation.ids) == ("postmortem_overdue", ("I1",))
    assert "I1" in violation.message and "checkout" in violation.message
    assert ("no postmortem" if postmortem_id is None else "PM1 still " + status) in violation.message


@pytest.mark.parametrize("status", ["published", "closed"])
def test_published_or_closed_postmortem_passes_however_late(status):
    facts = required("I1", postmortem_id="PM1", status=status, resolved_ago=timedelta(days=400))

    assert gate(required_postmortems=[facts]).passed is True


@pytest.mark.parametrize(
    ("resolved_ago", "passed"),
    [
        (timedelta(days=1), True),
        (timedelta(days=7), True),  # exactly at the deadline: not yet overdue
        (timedelta(days=7, seconds=1), False),
        (timedelta(days=30), False),
    ],
    ids=["1 day", "exactly 7 days", "7 days and 1 second", "30 days"],
)
def test_postmortem_due_days_boundary(resolved_ago, passed):
    assert gate(required_postmortems=[required(resolved_ago=resolved_ago)]).passed is passed


def test_due_days_is_the_callers_setting():
    facts = [required(resolved_ago=timedelta(days=2))]

    assert gate(required_postmortems=facts, due_days=3).passed is True
    assert gate(required_postmortems=facts, due_days=1).passed is False
    assert gate(required_postmortems=facts, due_days=0).passed is False


# --- combinations -------------------------------------------------------------------------

def test_both_codes_together_in_order():
    result = gate(
        action_items=[item("A2"), item("A1", priority="P2")],
        required_postmortems=[required("I2"), required("I1", postmortem_id="PM1", status="draft"),
                              required("I3", resolved_ago=timedelta(days=2))],
    )

    assert [(v.code, v.ids) for v in result.violations] == [
        ("overdue_p1_action_item", ("A2",)),
        ("postmortem_overdue", ("I1",)),
        ("postmortem_overdue", ("I2",)),
    ]
    assert result.warnings == ()
    assert result.to_dict()["violations"][0] == {
        "code": "overdue_p1_action_item",
        "message": result.violations[0].message,
        "ids": ["A2"],
    }
