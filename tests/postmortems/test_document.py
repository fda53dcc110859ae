"""`GET /api/v1/postmortems/{id}/document`: the postmortem as Markdown (seed 001's template) or the same content
as JSON. The rich postmortem (tests/support/rich.py) is compared with a golden file; its Markdown is parsed as
CommonMark with tables, and its diagrams with the real Mermaid parser.

Set LOOPGATE_UPDATE_GOLDEN=1 to rewrite the golden file after an intended change (then read the diff).
"""

import os
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from app.postmortems.document import PostmortemDocument
from app.postmortems.markdown import render_markdown, text
from tests.support.constants import ADMIN
from tests.support.factories import add_action_item, add_finding, add_packet, make_incident, make_postmortem, move
from tests.support.mermaid import assert_parse
from tests.support.rich import ANALYSIS, INCIDENT, normalise, rich_postmortem

GOLDEN = Path(__file__).parent / "golden" / "rich_postmortem.md"
SECTIONS = ["Incident summary", "Impact statements", "Executive summary", "Timeline", "Contributing factors",
            "Technical", "Process", "Organizational", "Barriers", "What went well", "What could be improved",
            "Action items", "Lessons learned", "Integration Gate", "References"]


def markdown_tokens(markdown: str) -> list:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def headings(tokens: list) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag != "h1"]


def tables(tokens: list) -> list[list[list[str]]]:
    """Each table's body rows, each row its cells' inline text."""
    found, rows, row, in_body = [], [], [], False
    for token in tokens:
        if token.type == "tbody_open":
            rows, in_body = [], True
        elif token.type == "tbody_close":
            found.append(rows)
            in_body = False
        elif in_body and token.type == "tr_open":
            row = []
        elif in_body and token.type == "tr_close":
            rows.append(row)
        elif in_body and token.type == "inline":
            row.append(token.content)
    return found


def mermaid_blocks(tokens: list) -> list[str]:
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]


async def get_document(client, postmortem_id: str, fmt: str | None = None):
    suffix = f"?format={fmt}" if fmt else ""
    return await client.get(f"/api/v1/postmortems/{postmortem_id}/document{suffix}", headers=ADMIN)


async def test_the_rich_postmortem_renders_to_the_golden_markdown_whose_tables_and_diagrams_parse(
        jira_client, jira, clock):
    postmortem = await rich_postmortem(jira_client, jira_client.runtime, jira, clock)
    response = await get_document(jira_client, postmortem["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    markdown = normalise(response.text, jira_url=jira.url)
    if os.environ.get("LOOPGATE_UPDATE_GOLDEN"):
        GOLDEN.write_text(markdown)
    assert markdown == GOLDEN.read_text()

    tokens = markdown_tokens(response.text)
    assert headings(tokens) == SECTIONS
    timeline, barriers, items = tables(tokens)
    assert len(timeline) == 5 and timeline[0] == ["2026-11-20 09:58:00", "triggered",
                                                  "triggered — Checkout down: orders DB connection pool exhausted",
                                                  "Dana Whitfield"]
    assert barriers == [["DB connection alarm paged within 2 minutes", "held"], ["Canary analysis", "failed"],
                        ["Circuit breaker on the payment client", "missing"]]
    assert len(items) == 8 and all(len(row) == 6 for row in items)
    # A `|` in a title stays inside its cell (markdown-it gives the cell's text unescaped); the rows run by priority, then due date.
    assert ["P3", "Write down the single-approver night rollback | who may approve", "kim", "2026-12-20", "open",
            "—"] in items
    assert [row[0] for row in items] == ["P1", "P1", "P2", "P2", "P2", "P3", "P3", "P3"]
    assert sum(row[5].startswith("[OPS-") for row in items) == 6

    (diagram,) = mermaid_blocks(tokens)
    served = await jira_client.get(f"/api/v1/postmortems/{postmortem['id']}/analysis?format=mermaid", headers=ADMIN)
    packet = await jira_client.get(f"/api/v1/incidents/{INCIDENT}/packet?format=mermaid", headers=ADMIN)
    assert diagram == served.text  # the document embeds exactly what the analysis route draws
    assert assert_parse(diagram, packet.text) == ["flowchart-v2", "timeline"]
    assert diagram.count(":::factor") == 8 and diagram.count("subgraph ") == 3
    assert [diagram.count(f":::{state}") for state in ("held", "failed", "missing")] == [1, 1, 1]
    assert diagram.count(" --> ") == len(ANALYSIS["edges"])


async def test_json_carries_the_same_content_and_renders_to_the_same_markdown(jira_client, jira, clock):
    postmortem = await rich_postmortem(jira_client, jira_client.runtime, jira, clock)
    document = (await get_document(jira_client, postmortem["id"], "json")).json()
    markdown = (await get_document(jira_client, postmortem["id"], "markdown")).text
    diagram = (await jira_client.get(f"/api/v1/postmortems/{postmortem['id']}/analysis?format=mermaid",
                                     headers=ADMIN)).text
    assert render_markdown(PostmortemDocument.model_validate(document), diagram=diagram) == markdown

    assert document["status"] == "published" and document["notice"] is None
    assert document["summary"]["duration_seconds"] == 83 * 60 and document["summary"]["date"] == "2026-11-20"
    assert document["summary"]["severity"] == ["critical"]
    assert [s["text"] for s in document["summary"]["impact"]] == ["4,120 orders failed; 310 customers contacted "
                                                                  "support."]
    groups = {g["category"]: g for g in document["contributing_factors"]}
    assert [len(groups[c]["factors"]) for c in ("technical", "process", "organizational")] == [3, 3, 2]
    assert [len(groups[c]["findings"]) for c in ("technical", "process", "organizational")] == [2, 2, 1]
    assert [b["state"] for b in document["barriers"]] == ["held", "failed", "missing"]
    assert len(document["impacts"]) == 1 and len(document["action_items"]) == 8
    assert sorted(i["jira_key"] for i in document["action_items"] if i["jira_key"]) == [
        "OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5", "OPS-6"]
    (incident,) = document["incidents"]
    assert incident["external_id"] == INCIDENT and incident["packet"]["version"] == 2
    packet = (await jira_client.get(f"/api/v1/incidents/{INCIDENT}/packet", headers=ADMIN)).json()
    assert incident["packet"]["sha256"] == packet["sha256"] and len(packet["sha256"]) == 64
    assert document["gate"] == {"passed": True, "violations": [], "warnings": []}


async def test_the_same_postmortem_renders_the_same_bytes_every_time(jira_client, jira, clock):
    postmortem = await rich_postmortem(jira_client, jira_client.runtime, jira, clock, status="in_review")
    first = await get_document(jira_client, postmortem["id"])
    clock.advance(hours=3)  # rendering reads no clock: a later request gives the same document
    second = await get_document(jira_client, postmortem["id"])
    assert first.text == second.text
    assert "> **In review.** This postmortem is in review: its content may still change." in first.text


@pytest.mark.parametrize("status,notice", [
    ("draft", "> **Draft.** This postmortem is a draft: its content is still being written and may change."),
    ("in_review", "> **In review.** This postmortem is in review: its content may still change."),
    ("published", None), ("closed", None)])
async def test_every_status_renders_and_a_draft_says_it_is_one(client, runtime, clock, status, notice):
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident)
    postmortem = await make_postmortem(client, [incident])
    await add_finding(client, postmortem["id"])
    steps = {"draft": [], "in_review": ["in_review"], "published": ["in_review", "published"],
             "closed": ["in_review", "published", "closed"]}[status]
    if steps:
        assert (await move(client, postmortem["id"], *steps)).status_code == 200
    markdown = (await get_document(client, postmortem["id"])).text
    document = (await get_document(client, postmortem["id"], "json")).json()
    assert document["status"] == status
    assert f"- **Status**: {status.replace('_', ' ')}" in markdown
    lines = markdown.splitlines()
    assert lines[0] == "# Postmortem: Checkout latency"
    if notice:
        assert lines[2] == notice and document["notice"] == notice.split("** ", 1)[1]
    else:
        assert not lines[2].startswith(">") and document["notice"] is None


async def test_a_bare_postmortem_says_what_is_not_there_yet(client, runtime):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    markdown = (await get_document(client, postmortem["id"])).text
    for placeholder in ("_No Event Packet timeline yet._", "_No contributing factor or finding yet._",
                        "_No action item yet._", "_Not written yet._",
                        "- Event Packet of PINC0001: none assembled yet"):
        assert placeholder in markdown
    assert "```mermaid" not in markdown
    assert "The gate does not pass: closing is blocked." in markdown
    assert headings(markdown_tokens(markdown)) == ["Incident summary", "Executive summary", "Timeline",
                                                   "Contributing factors", "What went well",
                                                   "What could be improved", "Action items", "Lessons learned",
                                                   "Integration Gate", "References"]


async def test_text_that_looks_like_markdown_reads_as_written(client, runtime):
    title = "1. <b>Checkout</b> | *all* [regions] # down"
    incident = await make_incident(client, runtime)
    postmortem = await make_postmortem(client, [incident], title=title)
    finding = await add_finding(client, postmortem["id"], statement="- not a list\n| not a table |")
    await add_action_item(client, finding["id"], title="a | b\nc", owner="`x`")
    markdown = (await get_document(client, postmortem["id"])).text
    tokens, rendered = markdown_tokens(markdown), MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<h1>Postmortem: 1. &lt;b&gt;Checkout&lt;/b&gt; | *all* [regions] # down</h1>" in rendered
    assert "<li>- not a list | not a table | (decision knowledge base;" in rendered
    (items,) = tables(tokens)
    assert items[0][1:3] == ["a | b c", "\\`x\\`"]
    assert text("+ 2) ~~x~~ $y$") == "\\+ 2) \\~\\~x\\~\\~ \\$y\\$"


async def test_unknown_postmortem_bad_format_and_no_token(client):
    missing = await get_document(client, "5d0c3a4e-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    bad = await client.get("/api/v1/postmortems/5d0c3a4e-0000-4000-8000-000000000000/document?format=pdf",
                           headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"
    anonymous = await client.get("/api/v1/postmortems/5d0c3a4e-0000-4000-8000-000000000000/document")
    assert anonymous.status_code == 401
