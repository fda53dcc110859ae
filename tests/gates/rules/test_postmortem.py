"""The Integration Gate as a truth table: each defect alone, together, and what never counts."""

import ast
import sys
from datetime import date
from pathlib import Path

import pytest

from app.gates.rules import (
    CODE_ORDER,
    ActionItemFacts,
    FindingFacts,
    GateResult,
    PacketFacts,
    PostmortemFacts,
    TicketFacts,
    Violation,
    evaluate_postmortem,
)

DUE = date(2030, 1, 31)
_CREATED = "created"


def item(id="A1", *, ticket=_CREATED, owner="alice", priority="P2", due_date=DUE, status="open"):
    """An action item; `ticket` is a ticket state, or None for no ticket."""
    facts = None if ticket is None else TicketFacts(state=ticket, jira_key=f"OPS-{id}")
    return ActionItemFacts(id=id, owner=owner, priority=priority, due_date=due_date, status=status, ticket=facts)


def finding(id="F1", *items, decision="ticket", systemic=False, proposal=None):
    """A finding; with no items given, one complete action item with a created ticket."""
    items = items or (item(f"{id}-A1"),)
    return FindingFacts(id=id, decision=decision, systemic=systemic, proposal=proposal, action_items=items)


def packet(incident_id="I1", status="complete", similar=()):
    return PacketFacts(incident_id=incident_id, status=status, similar_incident_ids=tuple(similar))


def postmortem(*findings, packets=None, reviewed=False, blame=0, id="PM1", no_findings=False):
    """A postmortem that passes unless told otherwise."""
    return PostmortemFacts(
        id=id,
        findings=() if no_findings else (findings or (finding(),)),
        packets=(packet(),) if packets is None else tuple(packets),
        similar_incidents_reviewed=reviewed,
        blame_issue_count=blame,
    )


def codes(violations):
    return [v.code for v in violations]


# --- each defect alone --------------------------------------------------------------------

ALONE = [
    ("no findings", postmortem(no_findings=True), "no_findings", ("PM1",)),
    ("ticket finding, item without ticket", postmortem(finding("F1", item("A1", ticket=None))),
     "finding_without_ticket", ("F1",)),
    ("ticket finding, no action item", postmortem(FindingFacts("F1", "ticket")),
     "finding_without_ticket", ("F1",)),
    ("ticket finding, ticket creation failed", postmortem(finding("F1", item("A1", ticket="failed"))),
     "finding_without_ticket", ("F1",)),
    ("ticket finding, only a wont_do item with a ticket",
     postmortem(finding("F1", item("A1", status="wont_do"))), "finding_without_ticket", ("F1",)),
    ("ticket missing in Jira", postmortem(finding("F1", item("A1"), item("A2", ticket="missing"))),
     "ticket_missing", ("A2",)),
    ("ticket pending", postmortem(finding("F1", item("A1"), item("A2", ticket="pending"))),
     "ticket_pending", ("A2",)),
    ("ticket creating", postmortem(finding("F1", item("A1"), item("A2", ticket="creating"))),
     "ticket_pending", ("A2",)),
    ("item without owner", postmortem(finding("F1", item("A1", owner=None))), "action_item_incomplete", ("A1",)),
    ("item with blank owner", postmortem(finding("F1", item("A1", owner="  "))), "action_item_incomplete", ("A1",)),
    ("item without priority", postmortem(finding("F1", item("A1", priority=None))),
     "action_item_incomplete", ("A1",)),
    ("item without due date", postmortem(finding("F1", item("A1", due_date=None))),
     "action_item_incomplete", ("A1",)),
    ("item lacking all three", postmortem(finding("F1", item("A1", owner=None, priority=None, due_date=None))),
     "action_item_incomplete", ("A1",)),
    ("item on a knowledge_base finding lacks owner",
     postmortem(finding("F1", item("A1", owner=None, ticket=None), decision="knowledge_base")),
     "action_item_incomplete", ("A1",)),
    ("systemic finding, no proposal", postmortem(finding("F1", systemic=True)),
     "systemic_finding_without_proposal", ("F1",)),
    ("systemic finding, blank proposal", postmortem(finding("F1", systemic=True, proposal=" \n ")),
     "systemic_finding_without_proposal", ("F1",)),
    ("systemic knowledge_base finding, no proposal",
     postmortem(finding("F1", decision="knowledge_base", systemic=True)),
     "systemic_finding_without_proposal", ("F1",)),
    ("no packet yet", postmortem(packets=[packet("I1", None)]), "packet_incomplete", ("I1",)),
    ("packet pending", postmortem(packets=[packet("I1", "pending")]), "packet_incomplete", ("I1",)),
    ("packet assembling", postmortem(packets=[packet("I1", "assembling")]), "packet_incomplete", ("I1",)),
    ("packet failed", postmortem(packets=[packet("I1", "failed")]), "packet_incomplete", ("I1",)),
    ("one of two packets missing", postmortem(packets=[packet("I1"), packet("I2", None)]),
     "packet_incomplete", ("I2",)),
    ("similar incidents not reviewed", postmortem(packets=[packet("I1", similar=["I0"])]),
     "similar_incidents_not_reviewed", ("I0",)),
    ("similar incidents listed by a partial packet",
     postmortem(packets=[packet("I1", "partial", similar=["I0", "I9"])]),
     "similar_incidents_not_reviewed", ("I0", "I9")),
]


@pytest.mark.parametrize(("facts", "code", "ids"), [case[1:] for case in ALONE], ids=[c[0] for c in ALONE])
def test_each_defect_alone_gives_exactly_its_code(facts, code, ids):
    result = evaluate_postmortem(facts)

    assert result.passed is False
    assert [(v.code, v.ids) for v in result.violations] == [(code, ids)]
    assert result.warnings == ()


@pytest.mark.parametrize(("facts", "code", "ids"), [case[1:] for case in ALONE], ids=[c[0] for c in ALONE])
def test_messages_are_sentences_naming_their_ids(facts, code, ids):
    (violation,) = evaluate_postmortem(facts).violations

    assert violation.message[0].isupper() and violation.message.endswith(".")
    assert all(id in violation.message for id in violation.ids)


# --- what passes --------------------------------------------------------------------------

PASSING = [
    ("fully passing", postmortem()),
    ("linked ticket counts like created", postmortem(finding("F1", item("A1", ticket="linked")))),
    ("one wont_do item and one created ticket",
     postmortem(finding("F1", item("A1", ticket=None, status="wont_do"), item("A2")))),
    ("one ticketed item suffices; others need no ticket",
     postmortem(finding("F1", item("A1"), item("A2", ticket=None)))),
    ("completed item with a created ticket", postmortem(finding("F1", item("A1", status="completed")))),
    ("knowledge_base finding without action items", postmortem(FindingFacts("F1", "knowledge_base"))),
    ("rejected finding without action items", postmortem(FindingFacts("F1", "rejected"))),
    ("knowledge_base finding with an unticketed item",
     postmortem(finding("F1", item("A1", ticket=None), decision="knowledge_base"))),
    ("rejected finding with an unticketed item",
     postmortem(finding("F1", item("A1", ticket=None), decision="rejected"))),
    ("systemic finding with a proposal", postmortem(finding("F1", systemic=True, proposal="Deploys halve MTTR."))),
    ("partial packet", postmortem(packets=[packet("I1", "partial")])),
    ("several complete packets", postmortem(packets=[packet("I1"), packet("I2", "partial")])),
    ("similar incidents reviewed", postmortem(packets=[packet("I1", similar=["I0"])], reviewed=True)),
    ("postmortem with no incidents", postmortem(packets=[])),
]


@pytest.mark.parametrize("facts", [case[1] for case in PASSING], ids=[c[0] for c in PASSING])
def test_passing_postmortems(facts):
    assert evaluate_postmortem(facts) == GateResult(passed=True, violations=(), warnings=())


# --- wont_do is invisible -----------------------------------------------------------------

WONT_DO_DEFECTS = {
    "ticket missing": item("W1", ticket="missing", status="wont_do"),
    "ticket pending": item("W1", ticket="pending", status="wont_do"),
    "ticket creating": item("W1", ticket="creating", status="wont_do"),
    "ticket failed": item("W1", ticket="failed", status="wont_do"),
    "no ticket": item("W1", ticket=None, status="wont_do"),
    "no owner": item("W1", owner=None, status="wont_do"),
    "no priority": item("W1", priority=None, status="wont_do"),
    "no due date": item("W1", due_date=None, status="wont_do"),
    "lacks everything": item("W1", ticket="missing", owner=None, priority=None, due_date=None, status="wont_do"),
}


@pytest.mark.parametrize("wont_do", WONT_DO_DEFECTS.values(), ids=WONT_DO_DEFECTS.keys())
@pytest.mark.parametrize("decision", ["ticket", "knowledge_base", "rejected"])
def test_wont_do_items_are_ignored_by_every_rule(wont_do, decision):
    facts = postmortem(finding("F1", item("A1"), wont_do, decision=decision))

    assert evaluate_postmortem(facts).passed is True


def test_a_wont_do_item_with_a_created_ticket_does_not_satisfy_its_finding():
    facts = postmortem(finding("F1", item("A1", status="wont_do"), item("A2", ticket=None)))

    (violation,) = evaluate_postmortem(facts).violations
    assert violation.code == "finding_without_ticket"
    assert "A1" not in violation.message and "A2: has no ticket" in violation.message


# --- ticket states in detail --------------------------------------------------------------

@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("created", []),
        ("linked", []),
        ("pending", ["finding_without_ticket", "ticket_pending"]),
        ("creating", ["finding_without_ticket", "ticket_pending"]),
        ("missing", ["finding_without_ticket", "ticket_missing"]),
        ("failed", ["finding_without_ticket"]),
        (None, ["finding_without_ticket"]),
        ("something_new", ["finding_without_ticket"]),  # fail-closed on unknown states
    ],
)
def test_the_only_ticket_of_a_ticket_finding_in_each_state(state, expected):
    result = evaluate_postmortem(postmortem(finding("F1", item("A1", ticket=state))))

    assert codes(result.violations) == expected
    assert result.passed is (not expected)


def test_failed_ticket_is_named_in_the_finding_message():
    (violation,) = evaluate_postmortem(postmortem(finding("F1", item("A1", ticket="failed")))).violations

    assert violation.code == "finding_without_ticket"
    assert "A1" in violation.message and "failed" in violation.message


def test_missing_ticket_message_names_the_jira_key():
    facts = postmortem(finding("F1", item("A1"), item("A2", ticket="missing")))

    (violation,) = evaluate_postmortem(facts).violations
    assert "OPS-A2" in violation.message


def test_action_item_incomplete_names_what_is_lacking():
    facts = postmortem(finding("F1", item("A1", owner=None, due_date=None)))

    (violation,) = evaluate_postmortem(facts).violations
    assert "owner" in violation.message and "due date" in violation.message
    assert "priority" not in violation.message


@pytest.mark.parametrize("status", [None, "pending", "assembling", "failed"])
def test_packet_incomplete_message_says_the_state(status):
    (violation,) = evaluate_postmortem(postmortem(packets=[packet("I1", status)])).violations

    assert ("not been assembled" if status is None else status) in violation.message


# --- combinations -------------------------------------------------------------------------

def test_every_defect_at_once_reports_every_code_in_design_order():
    facts = PostmortemFacts(
        id="PM1",
        findings=(
            finding("F1", item("A1", ticket=None, owner=None), systemic=True),
            finding("F2", item("A2"), item("A3", ticket="missing"), item("A4", ticket="pending")),
        ),
        packets=(packet("I1", None, similar=["I0"]),),
        similar_incidents_reviewed=False,
        blame_issue_count=2,
    )

    result = evaluate_postmortem(facts, blame_blocking=True)

    assert [(v.code, v.ids) for v in result.violations] == [
        ("finding_without_ticket", ("F1",)),
        ("ticket_missing", ("A3",)),
        ("ticket_pending", ("A4",)),
        ("action_item_incomplete", ("A1",)),
        ("systemic_finding_without_proposal", ("F1",)),
        ("packet_incomplete", ("I1",)),
        ("similar_incidents_not_reviewed", ("I0",)),
        ("blame_language", ("PM1",)),
    ]
    assert set(codes(result.violations)) == set(CODE_ORDER[1:9])


def test_no_findings_combines_with_packet_defects():
    facts = postmortem(no_findings=True, packets=[packet("I1", "failed", similar=["I0"])], blame=1)

    result = evaluate_postmortem(facts)

    assert codes(result.violations) == ["no_findings", "packet_incomplete", "similar_incidents_not_reviewed"]
    assert codes(result.warnings) == ["blame_language"]


def test_one_violation_per_offending_finding_ordered_by_id():
    facts = postmortem(
        finding("F3", item("A3", ticket=None)),
        finding("F1", item("A1", ticket=None)),
        finding("F2", item("A2", ticket="failed")),
        finding("F4"),
    )

    violations = evaluate_postmortem(facts).violations

    assert [(v.code, v.ids) for v in violations] == [
        ("finding_without_ticket", ("F1",)),
        ("finding_without_ticket", ("F2",)),
        ("finding_without_ticket", ("F3",)),
    ]


def test_one_item_can_break_several_rules():
    facts = postmortem(finding("F1", item("A1"), item("A2", ticket="missing", priority=None)))

    assert [(v.code, v.ids) for v in evaluate_postmortem(facts).violations] == [
        ("ticket_missing", ("A2",)),
        ("action_item_incomplete", ("A2",)),
    ]


def test_similar_incidents_are_reported_once_deduplicated_across_packets():
    facts = postmortem(packets=[packet("I1", similar=["I8", "I0"]), packet("I2", similar=["I0"])])

    (violation,) = evaluate_postmortem(facts).violations
    assert violation.ids == ("I0", "I8")


def test_result_does_not_depend_on_input_order():
    findings = [finding("F2", item("A2", ticket=None)), finding("F1", item("A1", owner=None), systemic=True)]
    packets = [packet("I2", None), packet("I1", "failed")]

    forward = evaluate_postmortem(postmortem(*findings, packets=packets))
    backward = evaluate_postmortem(postmortem(*reversed(findings), packets=list(reversed(packets))))

    assert forward == backward


# --- warnings versus violations -----------------------------------------------------------

def test_blame_language_warns_by_default_and_never_fails_the_gate():
    result = evaluate_postmortem(postmortem(blame=3))

    assert result.passed is True
    assert result.violations == ()
    assert [(w.code, w.ids) for w in result.warnings] == [("blame_language", ("PM1",))]
    assert "3" in result.warnings[0].message


def test_blame_language_blocks_when_configured():
    result = evaluate_postmortem(postmortem(blame=1), blame_blocking=True)

    assert result.passed is False
    assert codes(result.violations) == ["blame_language"]
    assert result.warnings == ()


@pytest.mark.parametrize("blame_blocking", [False, True])
def test_no_blame_issues_no_blame_entry(blame_blocking):
    result = evaluate_postmortem(postmortem(blame=0), blame_blocking=blame_blocking)

    assert result == GateResult(passed=True)


def test_warning_does_not_hide_violations():
    result = evaluate_postmortem(postmortem(finding("F1", item("A1", ticket=None)), blame=1))

    assert result.passed is False
    assert codes(result.violations) == ["finding_without_ticket"]
    assert codes(result.warnings) == ["blame_language"]


# --- result shape -------------------------------------------------------------------------

def test_to_dict_shape():
    result = evaluate_postmortem(postmortem(finding("F1", item("A1", ticket=None)), blame=1))

    assert result.to_dict() == {
        "passed": False,
        "violations": [{"code": "finding_without_ticket", "message": result.violations[0].message, "ids": ["F1"]}],
        "warnings": [{"code": "blame_language", "message": result.warnings[0].message, "ids": ["PM1"]}],
    }


def test_passed_must_agree_with_violations():
    violation = Violation("no_findings", "Postmortem PM1 has no findings.", ("PM1",))

    with pytest.raises(ValueError):
        GateResult(passed=True, violations=(violation,))
    with pytest.raises(ValueError):
        GateResult(passed=False)


def test_facts_and_results_are_immutable():
    facts = postmortem()
    result = evaluate_postmortem(facts)

    with pytest.raises(AttributeError):
        facts.blame_issue_count = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.passed = False  # type: ignore[misc]


# --- purity -------------------------------------------------------------------------------

GATES_DIR = Path(__file__).resolve().parents[3] / "app" / "gates" / "rules"


@pytest.mark.parametrize("module", sorted(GATES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_gates_import_only_the_standard_library(module):
    tree = ast.parse(module.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])

    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
