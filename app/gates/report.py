"""What `loopgate gate check` prints: human text, JSON, or a JUnit XML report that CI systems show natively.

Pure: the gate's answer (the JSON body of `GET /api/v1/gates/…`) and what was asked in, text out;
no I/O, so any command-line front end can call it. The JUnit report has one test case per rule of
the gate asked (DESIGN §3), and a failure per violation with its message and the API link where it
is fixed; warnings go to the test case's `system-out`, since they do not block.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from app.gates.rules import CODE_ORDER


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


DEPLOY_RULES: tuple[str, ...] = ("overdue_p1_action_item", "postmortem_overdue")
POSTMORTEM_RULES: tuple[str, ...] = tuple(code for code in CODE_ORDER if code not in DEPLOY_RULES)

# Where each violation is fixed: the API resource of its ids ("{id}"), or of the postmortem asked about.
_FIX = {
    "finding_without_ticket": "/api/v1/findings/{id}",
    "systemic_finding_without_proposal": "/api/v1/findings/{id}",
    "ticket_missing": "/api/v1/action-items/{id}",
    "ticket_pending": "/api/v1/action-items/{id}",
    "action_item_incomplete": "/api/v1/action-items/{id}",
    "overdue_p1_action_item": "/api/v1/action-items/{id}",
    "packet_incomplete": "/api/v1/incidents/{id}/packet",
    "postmortem_overdue": "/api/v1/postmortems?incident={id}",
}


@dataclass(frozen=True)
class Subject:
    """What the gate was asked about: a postmortem (`kind="postmortem"`) or a service (`kind="service"`)."""

    kind: str
    ref: str

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}"

    @property
    def rules(self) -> tuple[str, ...]:
        return POSTMORTEM_RULES if self.kind == "postmortem" else DEPLOY_RULES


def fix_links(violation: Mapping[str, Any], *, subject: Subject, base_url: str) -> list[str]:
    """The API links where the violation is fixed (the postmortem itself when its ids name no resource)."""
    base = base_url.rstrip("/")
    template = _FIX.get(str(violation.get("code")))
    ids = [str(i) for i in violation.get("ids") or []]
    if template and ids:
        return [base + template.format(id=quote(i, safe="")) for i in ids]
    if subject.kind == "postmortem":
        return [f"{base}/api/v1/postmortems/{quote(subject.ref, safe='')}"]
    return [f"{base}/api/v1/gates/services/{quote(subject.ref, safe='')}"]


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(value: object) -> str:
    """Text that XML 1.0 can hold: control characters (which it cannot) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(value))


def _entries(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [entry for entry in body.get(key) or [] if isinstance(entry, Mapping)]


def text_report(body: Mapping[str, Any], *, subject: Subject) -> str:
    """The human report: the verdict, then each violation and warning on its line."""
    lines = [f"Gate {'PASSED' if body.get('passed') else 'FAILED'} for {subject}"]
    for title, key in (("Violations", "violations"), ("Warnings", "warnings")):
        entries = _entries(body, key)
        if entries:
            lines.append(f"{title}:")
            for entry in entries:
                ids = ", ".join(str(i) for i in entry.get("ids") or [])
                lines.append(f"  - [{entry.get('code')}] {entry.get('message')}" + (f" ({ids})" if ids else ""))
    return "\n".join(lines) + "\n"


def json_report(body: Mapping[str, Any], *, subject: Subject, base_url: str) -> str:
    """The machine-readable report: the verdict, and each violation and warning with its fix links."""

    def entry(item: Mapping[str, Any]) -> dict[str, Any]:
        return {"code": item.get("code"), "message": item.get("message"), "ids": list(item.get("ids") or []),
                "links": fix_links(item, subject=subject, base_url=base_url)}

    report = {"subject": {"kind": subject.kind, "ref": subject.ref}, "passed": bool(body.get("passed")),
              "evaluated_at": body.get("evaluated_at"),
              "violations": [entry(v) for v in _entries(body, "violations")],
              "warnings": [entry(w) for w in _entries(body, "warnings")]}
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _rules(subject: Subject, found: Sequence[Mapping[str, Any]]) -> list[str]:
    """The gate's rules, then any code a newer server answered that this client does not know yet."""
    extra = [str(v.get("code")) for v in found if v.get("code") not in subject.rules]
    return [*subject.rules, *dict.fromkeys(extra)]


def junit_report(body: Mapping[str, Any], *, subject: Subject, base_url: str) -> str:
    """The JUnit XML report: a test suite for the gate, a test case per rule, a failure per violation."""
    violations, warnings = _entries(body, "violations"), _entries(body, "warnings")
    rules = _rules(subject, [*violations, *warnings])
    suite_name = _xml(f"loopgate {'deploy' if subject.kind == 'service' else 'integration'} gate: {subject}")
    classname = f"loopgate.gate.{subject.kind}"
    root = ElementTree.Element("testsuites", name="loopgate gate check", tests=str(len(rules)),
                               failures=str(len(violations)), errors="0", time="0")
    suite = ElementTree.SubElement(root, "testsuite", name=suite_name, tests=str(len(rules)),
                                   failures=str(len(violations)), errors="0", skipped="0", time="0")
    if body.get("evaluated_at"):
        suite.set("timestamp", str(body["evaluated_at"]))
    properties = ElementTree.SubElement(suite, "properties")
    ElementTree.SubElement(properties, "property", name="subject", value=_xml(subject))
    ElementTree.SubElement(properties, "property", name="passed", value=str(bool(body.get("passed"))).lower())
    for rule in rules:
        case = ElementTree.SubElement(suite, "testcase", name=_xml(rule), classname=classname, time="0")
        for violation in (v for v in violations if v.get("code") == rule):
            links = fix_links(violation, subject=subject, base_url=base_url)
            message = _xml(violation.get("message"))
            failure = ElementTree.SubElement(case, "failure", type=_xml(rule), message=message)
            failure.text = "\n".join([message, *(f"Fix it at: {_xml(link)}" for link in links)])
        notes = [w for w in warnings if w.get("code") == rule]
        if notes:
            out = ElementTree.SubElement(case, "system-out")
            out.text = "\n".join(f"Warning: {_xml(w.get('message'))}" for w in notes)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def render(report_format: ReportFormat, body: Mapping[str, Any], *, subject: Subject, base_url: str) -> str:
    """The report in `report_format`."""
    if report_format == ReportFormat.junit:
        return junit_report(body, subject=subject, base_url=base_url)
    if report_format == ReportFormat.json:
        return json_report(body, subject=subject, base_url=base_url)
    return text_report(body, subject=subject)
