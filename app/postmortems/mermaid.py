"""The analysis graph as a Mermaid flowchart, which GitHub, GitLab, Confluence and most portals draw.

Pure: the graph as stored (`{nodes, edges}`) in, Mermaid text out. Causes flow left to right
into the impact (an edge `from → to` is drawn `from --> to`); factors sit in one subgraph per
category; barriers are hexagons styled by their state, which their label also says, so the
diagram reads the same without colour.

Labels are free text. Mermaid would read quotes, `#`, `;`, `%%`, backticks, HTML and more as
syntax, so every character outside a small safe set is written as a Mermaid entity (`#60;`),
which Mermaid turns back into that character when it draws: any text renders as written.
Node ids are generated (`n0`, `n1`, … in the graph's order), never the author's ids.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from app.postmortems.analysis import BARRIER_STATES, CATEGORIES

_SAFE_PUNCTUATION = frozenset(" .,-_'/?!+=*@$()")
BLANK = "(no label)"  # Mermaid cannot parse an empty label
MAX_LABEL = 300  # characters drawn per node; the document and the JSON keep the whole label

CATEGORY_TITLES = {"technical": "Technical factors", "process": "Process factors",
                   "organizational": "Organizational factors"}

# Fill, stroke and text colours with a contrast ratio above 4.5 on each fill.
STYLES = {
    "impact": "fill:#fde2e1,stroke:#b42318,stroke-width:3px,color:#1f1f1f",
    "factor": "fill:#eef2ff,stroke:#4338ca,color:#1f1f1f",
    "held": "fill:#dcfce7,stroke:#15803d,stroke-width:2px,color:#14532d",
    "failed": "fill:#fee2e2,stroke:#b91c1c,stroke-width:2px,color:#7f1d1d",
    "missing": "fill:#f3f4f6,stroke:#6b7280,stroke-width:2px,stroke-dasharray:6 4,color:#374151",
    "bypassed": "fill:#ffedd5,stroke:#c2410c,stroke-width:2px,stroke-dasharray:3 3,color:#7c2d12",
}


def escape_label(text: str, *, limit: int = MAX_LABEL) -> str:
    """`text` as the inside of a quoted Mermaid label: safe characters as they are, every other one as an
    entity; line breaks become `<br>`; past `limit` characters it is cut with an ellipsis; a blank text
    becomes `(no label)`."""
    kept = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip()) or BLANK
    if len(kept) > limit:
        kept = kept[: limit - 1].rstrip() + "…"
    out = []
    for char in kept:
        if char == "\n":
            out.append("<br>")
        elif char.isalnum() or char in _SAFE_PUNCTUATION:
            out.append(char)
        else:
            out.append(f"#{ord(char)};")
    return "".join(out)


def _line(text: str) -> str:
    """One line of plain text for an accessibility title: no line breaks, no comment marker."""
    return " ".join(text.split()).replace("%%", "% %")


def analysis_flowchart(graph: Mapping[str, Any] | None, *, title: str) -> str:
    """The analysis graph (or a single note when there is none yet) as a Mermaid `flowchart LR`."""
    nodes: Sequence[Mapping[str, Any]] = (graph or {}).get("nodes") or []
    edges: Sequence[Mapping[str, Any]] = (graph or {}).get("edges") or []
    lines = ["flowchart LR", f"    accTitle: Analysis graph of {_line(title)}"]
    if not nodes:
        lines.append('    empty["No analysis graph yet"]')
        return "\n".join(lines) + "\n"
    ids = {str(node["id"]): f"n{index}" for index, node in enumerate(nodes)}
    lines.append(f"    accDescr: {len(nodes)} nodes and {len(edges)} edges, causes to the left of their effects")

    def declare(node: Mapping[str, Any]) -> str:
        label = escape_label(str(node["label"]))
        mermaid_id = ids[str(node["id"])]
        if node["kind"] == "impact":
            return f'{mermaid_id}(["{label}"]):::impact'
        if node["kind"] == "barrier":
            state = str(node.get("barrier_state"))
            return f'{mermaid_id}{{{{"{label}<br>barrier {escape_label(state)}"}}}}:::{_state_class(state)}'
        return f'{mermaid_id}["{label}"]:::factor'

    for node in nodes:
        if node["kind"] != "factor":
            lines.append(f"    {declare(node)}")
    for category in CATEGORIES:
        members = [node for node in nodes if node["kind"] == "factor" and node.get("category") == category]
        if members:
            lines.append(f'    subgraph cat_{category}["{CATEGORY_TITLES[category]}"]')
            lines.extend(f"        {declare(node)}" for node in members)
            lines.append("    end")
    strays = [node for node in nodes if node["kind"] == "factor" and node.get("category") not in CATEGORIES]
    lines.extend(f"    {declare(node)}" for node in strays)
    for edge in edges:
        source, target = ids.get(str(edge.get("from"))), ids.get(str(edge.get("to")))
        if source and target:
            lines.append(f"    {source} --> {target}")
    lines.extend(f"    classDef {name} {style}" for name, style in _used_styles(nodes))
    return "\n".join(lines) + "\n"


def _state_class(state: str) -> str:
    return state if state in BARRIER_STATES else "missing"


def _used_styles(nodes: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    used = {str(node["kind"]) for node in nodes if node["kind"] in ("impact", "factor")}
    used |= {_state_class(str(node.get("barrier_state"))) for node in nodes if node["kind"] == "barrier"}
    return [(name, style) for name, style in STYLES.items() if name in used]
