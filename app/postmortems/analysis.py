"""The analysis graph (DESIGN §10): one graph for five whys, contribution maps and barriers.

Pure: plain data in, a list of problems out; no database, no FastAPI. An edge
`from → to` means `from` contributed to `to` (cause → effect).

* Every framework: unique node ids, a known `kind`; factors carry a `category`,
  barriers a `barrier_state` (and only barriers do); every edge joins two known
  nodes; no edge twice; no cycle.
* five_whys: exactly one impact, with no outgoing edge; every other node has
  exactly one outgoing edge (the effect it explains) and any number of causes —
  a tree that branches toward the causes (seed 003: the whys should branch).
* contribution_map, barrier_analysis: any acyclic graph.

Every problem names the node or the edge it is about, so an author can fix the
graph from the message alone. All problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FRAMEWORKS = ("five_whys", "contribution_map", "barrier_analysis")
KINDS = ("impact", "factor", "barrier")
CATEGORIES = ("technical", "process", "organizational")
BARRIER_STATES = ("held", "failed", "missing", "bypassed")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    category: str | None = None
    barrier_state: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str  # `from` in the API: the cause
    target: str  # `to` in the API: the effect

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"


@dataclass(frozen=True)
class GraphProblem:
    """One broken rule: a stable `code`, a sentence naming the culprit, the node ids or edges (`a → b`)
    concerned, and which part of the graph is at fault (`nodes` or `edges`)."""

    code: str
    message: str
    refs: tuple[str, ...]
    part: str = "nodes"


def validate_graph(framework: str, nodes: Sequence[Node], edges: Sequence[Edge]) -> list[GraphProblem]:
    """Every problem of the graph under `framework`'s rules; an empty list means it is valid."""
    if framework not in FRAMEWORKS:
        return [GraphProblem("unknown_framework", f"Unknown framework {framework!r}.", (framework,), "framework")]
    problems = [*_node_problems(nodes)]
    known = {node.id for node in nodes}
    edge_problems, sound = _edge_problems(edges, known)
    problems += edge_problems
    problems += _cycles(known, sound)
    if framework == "five_whys":
        problems += _five_whys(nodes, sound)
    return problems


def _node_problems(nodes: Sequence[Node]) -> list[GraphProblem]:
    problems, seen = [], set()
    for node in nodes:
        if node.id in seen:
            problems.append(GraphProblem("duplicate_node", f"Node id {node.id!r} is used more than once.", (node.id,)))
        seen.add(node.id)
        if node.kind not in KINDS:
            problems.append(GraphProblem(
                "unknown_kind", f"Node {node.id!r} has unknown kind {node.kind!r} (expected {', '.join(KINDS)}).",
                (node.id,)))
        if node.category is not None and node.category not in CATEGORIES:
            problems.append(GraphProblem(
                "unknown_category",
                f"Node {node.id!r} has unknown category {node.category!r} (expected {', '.join(CATEGORIES)}).",
                (node.id,)))
        elif node.kind == "factor" and node.category is None:
            problems.append(GraphProblem(
                "factor_without_category",
                f"Factor {node.id!r} has no category (one of {', '.join(CATEGORIES)}).", (node.id,)))
        if node.barrier_state is not None and node.barrier_state not in BARRIER_STATES:
            problems.append(GraphProblem(
                "unknown_barrier_state",
                f"Node {node.id!r} has unknown barrier_state {node.barrier_state!r} "
                f"(expected {', '.join(BARRIER_STATES)}).", (node.id,)))
        elif node.kind == "barrier" and node.barrier_state is None:
            problems.append(GraphProblem(
                "barrier_without_state",
                f"Barrier {node.id!r} has no barrier_state (one of {', '.join(BARRIER_STATES)}).", (node.id,)))
        elif node.kind in KINDS and node.kind != "barrier" and node.barrier_state is not None:
            problems.append(GraphProblem(
                "barrier_state_on_non_barrier",
                f"Node {node.id!r} is a {node.kind}, not a barrier, but has a barrier_state.", (node.id,)))
    return problems


def _edge_problems(edges: Sequence[Edge], known: set[str]) -> tuple[list[GraphProblem], list[Edge]]:
    """Problems of single edges, and the edges sound enough for the structural rules."""
    problems, sound, seen = [], [], set()
    for edge in edges:
        missing = [end for end in (edge.source, edge.target) if end not in known]
        if missing:
            problems.append(GraphProblem(
                "dangling_edge",
                f"Edge {edge} points at unknown node(s) {', '.join(repr(m) for m in dict.fromkeys(missing))}.",
                (str(edge),), "edges"))
        elif (edge.source, edge.target) in seen:
            problems.append(GraphProblem("duplicate_edge", f"Edge {edge} is given more than once.", (str(edge),),
                                         "edges"))
        else:
            sound.append(edge)
        seen.add((edge.source, edge.target))
    return problems, sound


def _cycles(known: set[str], edges: Sequence[Edge]) -> list[GraphProblem]:
    """One problem per cycle found by a depth-first search, naming the nodes along it."""
    effects: dict[str, list[str]] = {node: [] for node in sorted(known)}
    for edge in edges:
        effects[edge.source].append(edge.target)
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    problems = []
    for root in effects:
        if root in state:
            continue
        path, stack = [root], [iter(effects[root])]
        state[root] = "open"
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(nxt) == "open":
                cycle = [*path[path.index(nxt):], nxt]
                problems.append(GraphProblem(
                    "cycle", f"The graph has a cycle: {' → '.join(cycle)}.", tuple(dict.fromkeys(cycle)), "edges"))
            elif nxt not in state:
                state[nxt] = "open"
                path.append(nxt)
                stack.append(iter(effects[nxt]))
    return problems


def _five_whys(nodes: Sequence[Node], edges: Sequence[Edge]) -> list[GraphProblem]:
    impacts = [node.id for node in nodes if node.kind == "impact"]
    problems = []
    if len(impacts) != 1:
        found = f"found {len(impacts)}" + (f": {', '.join(map(repr, impacts))}" if impacts else "")
        problems.append(GraphProblem(
            "five_whys_impact_count", f"A five whys graph needs exactly one impact node; {found}.", tuple(impacts)))
    outgoing: dict[str, list[Edge]] = {node.id: [] for node in nodes}
    for edge in edges:
        outgoing[edge.source].append(edge)
    for node_id, out in outgoing.items():
        if node_id in impacts:
            if out:
                problems.append(GraphProblem(
                    "five_whys_impact_has_effect",
                    f"Impact {node_id!r} is what the whys explain: it cannot contribute to anything "
                    f"(edge {', '.join(map(str, out))}).", tuple(map(str, out)), "edges"))
        elif not out:
            problems.append(GraphProblem(
                "five_whys_unattached_node",
                f"Node {node_id!r} explains nothing: in five whys every node but the impact has one "
                "outgoing edge to the effect it explains.", (node_id,)))
        elif len(out) > 1:
            problems.append(GraphProblem(
                "five_whys_several_effects",
                f"Node {node_id!r} has {len(out)} outgoing edges ({', '.join(map(str, out))}); in five whys "
                "each cause explains exactly one effect (a branching tree, not a web).", tuple(map(str, out)),
                "edges"))
    return problems
