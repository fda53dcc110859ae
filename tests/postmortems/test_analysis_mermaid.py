"""The analysis graph as a Mermaid flowchart: any label renders as written, ids never leak into syntax, and
`GET /api/v1/postmortems/{id}/analysis` answers it (`format=mermaid`) or the graph as JSON."""

import re

from app.postmortems.mermaid import analysis_flowchart, escape_label
from tests.support.constants import ADMIN
from tests.support.factories import make_incident, make_postmortem
from tests.support.mermaid import assert_parse, parse
from tests.support.rich import ANALYSIS

NASTY = ['a "quoted" label', "#hash; and ;semicolon", "%% not a comment", "end", "<script>alert(1)</script>",
         "x --> y", "`markdown`", "tab\there\n\nnew line", "ünïcödé 日本 🚀", "&amp; &lt;", "[a] {b} |c| (d)",
         "click n0 callback", "subgraph", "back\\slash", "classDef x fill:#f00", ":::held", "   "]


def nasty_graph() -> dict:
    nodes = [{"id": "impact", "label": "Impact", "kind": "impact"}]
    for index, label in enumerate(NASTY):
        nodes.append({"id": f'id {index} "end" --> ;', "label": label, "kind": "factor",
                      "category": ("technical", "process", "organizational")[index % 3]})
    nodes += [{"id": f"b-{state}", "label": state.title(), "kind": "barrier", "barrier_state": state}
              for state in ("held", "failed", "missing", "bypassed")]
    return {"nodes": nodes, "edges": [{"from": n["id"], "to": "impact"} for n in nodes[1:]]}


def decode(label: str) -> str:
    """What Mermaid draws for an escaped label: entities back to characters, <br> to a line break."""
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label.replace("<br>", "\n"))


def test_any_label_parses_and_decodes_to_the_text_as_written():
    diagram = analysis_flowchart(nasty_graph(), title='A "title" with %% and ; # end')
    assert assert_parse(diagram) == ["flowchart-v2"]
    labels = re.findall(r'^\s+n(\d+)\["(.*)"\]:::factor$', diagram, flags=re.M)
    written = ["\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip()) or "(no label)"
               for text in NASTY[0::3] + NASTY[1::3] + NASTY[2::3]]  # in subgraph order
    assert [decode(label) for _, label in labels] == written
    for _, label in labels:  # nothing Mermaid could read as syntax is left in a label
        assert not re.search(r'["#;%`<>&|\[\]{}:]', re.sub(r"#\d+;|<br>", "", label))


def test_ids_are_generated_and_each_barrier_state_has_its_style():
    diagram = analysis_flowchart(nasty_graph(), title="t")
    assert not re.search(r"id \d", diagram)  # the authors' ids ('id 0 "end" --> ;') never reach the text
    for state in ("held", "failed", "missing", "bypassed"):
        assert re.search(rf'\{{\{{"{state.title()}<br>barrier {state}"\}}\}}:::{state}$', diagram, flags=re.M)
        assert re.search(rf"^    classDef {state} fill:#\w+,stroke:#\w+", diagram, flags=re.M)
    assert diagram.count(" --> n0") == len(NASTY) + 4


def test_edges_run_from_cause_to_effect_and_factors_sit_in_their_category():
    diagram = analysis_flowchart(ANALYSIS, title="rich")
    ids = {node["id"]: f"n{index}" for index, node in enumerate(ANALYSIS["nodes"])}
    assert [line.strip() for line in diagram.splitlines() if "-->" in line] == [
        f"{ids[e['from']]} --> {ids[e['to']]}" for e in ANALYSIS["edges"]]
    blocks = dict(re.findall(r'subgraph cat_(\w+)\["[^"]+"\]\n(.*?)\n    end', diagram, flags=re.S))
    for category in ("technical", "process", "organizational"):
        members = [ids[n["id"]] for n in ANALYSIS["nodes"] if n.get("category") == category]
        assert re.findall(r"(n\d+)\[", blocks[category]) == members


def test_a_label_past_the_limit_is_cut_with_an_ellipsis():
    assert escape_label("x" * 500) == "x" * 299 + "#8230;"
    assert escape_label("a\r\n\r\nb  c") == "a<br>b c"


def test_an_invalid_diagram_is_reported_by_the_parser():
    # The checker can say no: a raw quote inside a label is a parse error.
    (result,) = parse('flowchart LR\n    n0["x" y"] --> n1\n')
    assert result["ok"] is False and "Parse error" in result["error"]


async def test_the_route_answers_json_by_default_and_mermaid_on_request(client, runtime):
    postmortem = await make_postmortem(client, [await make_incident(client, runtime)])
    url = f"/api/v1/postmortems/{postmortem['id']}/analysis"
    empty = await client.get(url, headers=ADMIN)
    assert empty.status_code == 200 and empty.json() == {"nodes": [], "edges": []}
    none_yet = await client.get(f"{url}?format=mermaid", headers=ADMIN)
    assert none_yet.status_code == 200 and 'empty["No analysis graph yet"]' in none_yet.text
    assert (await client.put(url, headers=ADMIN, json=ANALYSIS)).status_code == 200
    graph = await client.get(url, headers=ADMIN)
    assert graph.json() == {"nodes": [{"category": None, "barrier_state": None, **n} for n in ANALYSIS["nodes"]],
                            "edges": ANALYSIS["edges"]}
    drawn = await client.get(f"{url}?format=mermaid", headers=ADMIN)
    assert drawn.headers["content-type"] == "text/plain; charset=utf-8"
    assert drawn.text == analysis_flowchart(ANALYSIS, title="Checkout latency")
    assert assert_parse(none_yet.text, drawn.text) == ["flowchart-v2", "flowchart-v2"]


async def test_the_route_needs_read_and_a_known_postmortem(client):
    url = "/api/v1/postmortems/5d0c3a4e-0000-4000-8000-000000000000/analysis"
    assert (await client.get(url)).status_code == 401
    missing = await client.get(f"{url}?format=mermaid", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (await client.get(f"{url}?format=svg", headers=ADMIN)).status_code == 422
