"""The Event Packet's timeline as a Mermaid `timeline` (`GET /api/v1/incidents/{id}/packet?format=mermaid`): a
section per UTC day, a period per minute, every summary readable whatever characters it holds."""

import re

from app.packets.mermaid import RATIO, packet_timeline
from tests.support.constants import ADMIN
from tests.support.factories import make_incident
from tests.support.mermaid import assert_parse
from tests.support.rich import INCIDENT, resolved_incident

NASTY = ["Pool at 20/20: p99 > 8s", "see http://wiki/x#pool: step 3", "%% not a comment", "#channel first",
         "a : b :c", 'quote " and <b>html</b> & ;', "ends with colon:", "", "line\nbreak\tand tab", "🚒 日本",
         "x" * 400]


def entries(*summaries: str) -> list[dict]:
    return [{"at": f"2026-11-20T10:{index:02d}:30+00:00", "type": "annotated", "summary": summary, "actor": "Ana"}
            for index, summary in enumerate(summaries)]


def events(diagram: str) -> list[str]:
    return [line.split(" : ", 1)[1] for line in diagram.splitlines() if " : " in line]


def test_any_summary_parses_and_reads_as_written_but_for_the_colon_that_ends_an_event():
    diagram = packet_timeline(entries(*NASTY), title="Checkout: down #1 %% x")
    assert assert_parse(diagram) == ["timeline"]
    shown = events(diagram)
    assert shown[0] == f"annotated — Pool at 20/20{RATIO} p99 > 8s (Ana)"
    assert shown[1] == f"annotated — see http://wiki/x#pool{RATIO} step 3 (Ana)"  # "://" keeps its colon
    assert shown[2] == "annotated — %% not a comment (Ana)"
    assert shown[3] == "annotated — #channel first (Ana)"
    assert shown[4] == f"annotated — a {RATIO} b :c (Ana)"
    assert shown[6] == f"annotated — ends with colon{RATIO} (Ana)"
    assert shown[5] == 'annotated — quote " and <b>html</b> & ; (Ana)'
    assert shown[7] == "annotated (Ana)"
    assert shown[8] == "annotated — line break and tab (Ana)"
    assert len(shown[10]) < 200 and shown[10].endswith("… (Ana)")
    assert diagram.splitlines()[1] == "    title Checkout: down #1 %% x"  # a title may hold any of them


def test_one_section_per_utc_day_one_period_per_minute_in_time_order():
    timeline = [
        {"at": "2026-11-21T00:10:00Z", "type": "resolved", "summary": "resolved — Checkout down", "actor": None},
        {"at": "2026-11-20T23:58:10+01:00", "type": "triggered", "summary": "triggered — Checkout down",
         "actor": "Datadog"},
        {"at": "2026-11-20T22:58:40+00:00", "type": "acknowledged", "summary": "acknowledged", "actor": "Ana"},
        {"at": "not a time", "type": "annotated", "summary": "dropped: no time", "actor": None},
    ]
    assert packet_timeline(timeline, title="t").splitlines()[2:] == [
        "    section 2026-11-20 (UTC)",
        f"        22{RATIO}58 : triggered — Checkout down (Datadog)",
        "              : acknowledged (Ana)",
        "    section 2026-11-21 (UTC)",
        f"        00{RATIO}10 : resolved — Checkout down",
    ]


def test_an_empty_timeline_still_parses_and_says_so():
    diagram = packet_timeline([], title="t")
    assert "nothing recorded : the packet has no timeline entries" in diagram
    assert assert_parse(diagram) == ["timeline"]


async def test_the_packet_route_draws_the_timeline_assembled_from_the_webhooks(client, runtime):
    await resolved_incident(client, runtime)
    response = await client.get(f"/api/v1/incidents/{INCIDENT}/packet?format=mermaid", headers=ADMIN)
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert lines[:3] == ["timeline",
                         "    title Checkout down: orders DB connection pool exhausted — Event Packet v2",
                         "    section 2026-11-20 (UTC)"]
    assert [re.sub(r"\s+", " ", line.strip()).split(" : ")[0] for line in lines[3:]] == [
        f"09{RATIO}58", f"10{RATIO}03", f"10{RATIO}10", f"10{RATIO}41", f"11{RATIO}21"]
    first = await client.get(f"/api/v1/incidents/{INCIDENT}/packet?format=mermaid&version=1", headers=ADMIN)
    assert first.text.splitlines()[1].endswith("Event Packet v1")
    assert assert_parse(response.text, first.text) == ["timeline", "timeline"]
    json_answer = await client.get(f"/api/v1/incidents/{INCIDENT}/packet", headers=ADMIN)
    assert json_answer.headers["content-type"] == "application/json" and json_answer.json()["version"] == 2


async def test_no_packet_yet_is_a_404_and_an_unknown_format_a_422(client, runtime):
    await make_incident(client, runtime)  # triggered, never resolved: no packet
    missing = await client.get("/api/v1/incidents/PINC0001/packet?format=mermaid", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    bad = await client.get("/api/v1/incidents/PINC0001/packet?format=png", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "query.format"
