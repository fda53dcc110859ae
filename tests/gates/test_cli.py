"""`loopgate gate check` against a stubbed Loopgate (respx): what CI sees for each answer, and its exit code.

The end-to-end test drives the same command against a real server; these cover the answers that
a real server rarely gives on demand (unreachable, a non-JSON 502, a token refused).
"""

import io

import httpx
import respx

from app.gates.cli import ERROR, FAILED, PASSED, check

URL = "http://loopgate.test"


def run(**kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    arguments = {"url": URL, "token": "t0ken", "postmortem_id": None, "service": None, **kwargs}
    code = check(**arguments, out=out, err=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


@respx.mock
def test_a_passing_gate_exits_0_and_says_so():
    route = respx.get(f"{URL}/api/v1/gates/services/checkout%20api").mock(return_value=httpx.Response(
        200, json={"passed": True, "violations": [], "warnings": []}))
    assert run(service="checkout api") == (PASSED, "Gate PASSED for service checkout api\n", "")
    assert route.calls.last.request.headers["authorization"] == "Bearer t0ken"


@respx.mock
def test_a_failing_gate_exits_1_and_lists_violations_and_warnings():
    respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(return_value=httpx.Response(200, json={
        "passed": False,
        "violations": [{"code": "finding_without_ticket", "message": "Finding F1 has no ticket.", "ids": ["F1"]}],
        "warnings": [{"code": "blame_language", "message": "Blame in the summary.", "ids": []}],
    }))
    assert run(postmortem_id="pm-1") == (FAILED, (
        "Gate FAILED for postmortem pm-1\n"
        "Violations:\n  - [finding_without_ticket] Finding F1 has no ticket. (F1)\n"
        "Warnings:\n  - [blame_language] Blame in the summary.\n"), "")


@respx.mock
def test_a_refused_token_exits_2_with_the_servers_message():
    respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(return_value=httpx.Response(
        403, json={"error": "forbidden", "message": "This call needs the 'gates:read' scope.", "details": None}))
    assert run(postmortem_id="pm-1") == (
        ERROR, "", "loopgate gate check: postmortem pm-1: HTTP 403: This call needs the 'gates:read' scope.\n")


@respx.mock
def test_a_non_json_answer_exits_2_with_its_text():
    respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(return_value=httpx.Response(502, text="Bad Gateway"))
    assert run(postmortem_id="pm-1") == (ERROR, "", "loopgate gate check: postmortem pm-1: HTTP 502: Bad Gateway\n")


@respx.mock
def test_an_unreachable_server_exits_2():
    respx.get(f"{URL}/api/v1/gates/postmortems/pm-1").mock(side_effect=httpx.ConnectError("connection refused"))
    assert run(postmortem_id="pm-1") == (
        ERROR, "", f"loopgate gate check: cannot reach {URL}: connection refused\n")


def test_it_needs_exactly_one_subject_and_a_url_and_token():
    assert run(postmortem_id="pm-1", service="api")[0] == ERROR
    assert run() == (ERROR, "", "loopgate gate check: give a POSTMORTEM_ID or --service NAME\n")
    assert run(url=None, token=None, postmortem_id="pm-1")[0] == ERROR
