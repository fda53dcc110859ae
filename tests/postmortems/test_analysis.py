"""The analysis graph rules, pure: five whys (a branching tree), contribution maps and barriers (DAGs)."""

import pytest

from app.postmortems.analysis import FRAMEWORKS, Edge, Node, validate_graph


def impact(node_id="impact"):
    return Node(node_id, "Checkout timed out for 3% of users for 8 minutes", "impact")


def factor(node_id, category="technical"):
    return Node(node_id, f"factor {node_id}", "factor", category=category)


def barrier(node_id, state="failed"):
    return Node(node_id, f"barrier {node_id}", "barrier", barrier_state=state)


def edges(*pairs):
    return [Edge(a, b) for a, b in pairs]


def codes(problems):
    return [p.code for p in problems]


# Seed 003's branching five whys: two causes of the exhaustion, each with its own why.
BRANCHING_WHYS = (
    [impact(), factor("pool"), factor("alert"), factor("config", "process"), factor("spike", "technical")],
    edges(("pool", "impact"), ("alert", "impact"), ("config", "pool"), ("spike", "alert")),
)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_branching_tree_is_valid_everywhere(framework):
    assert validate_graph(framework, *BRANCHING_WHYS) == []


@pytest.mark.parametrize("framework", ["contribution_map", "barrier_analysis"])
def test_maps_take_any_dag_even_a_shared_cause_and_several_impacts(framework):
    nodes = [impact("slow"), impact("errors"), factor("load"), factor("cache"), barrier("canary", "bypassed")]
    graph = edges(("load", "slow"), ("load", "errors"), ("cache", "slow"), ("canary", "load"), ("canary", "errors"))
    assert validate_graph(framework, nodes, graph) == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_empty_graph_is_only_wrong_for_five_whys(framework):
    expected = ["five_whys_impact_count"] if framework == "five_whys" else []
    assert codes(validate_graph(framework, [], [])) == expected


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_cycle_is_refused_naming_its_nodes(framework):
    nodes = [impact(), factor("a"), factor("b"), factor("c")]
    problems = validate_graph(framework, nodes, edges(("a", "b"), ("b", "c"), ("c", "a"), ("a", "impact")))
    cycle = [p for p in problems if p.code == "cycle"]
    assert len(cycle) == 1
    assert "a → b → c → a" in cycle[0].message
    assert set(cycle[0].refs) == {"a", "b", "c"} and cycle[0].part == "edges"


def test_a_self_loop_is_a_cycle():
    problems = validate_graph("contribution_map", [factor("a")], edges(("a", "a")))
    assert codes(problems) == ["cycle"]
    assert "a → a" in problems[0].message


def test_two_separate_cycles_are_both_reported():
    nodes = [factor(n) for n in "abcd"]
    problems = validate_graph("barrier_analysis", nodes, edges(("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")))
    assert codes(problems) == ["cycle", "cycle"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_dangling_edge_is_named(framework):
    problems = validate_graph(framework, [impact(), factor("a")], edges(("a", "impact"), ("ghost", "a")))
    assert codes(problems)[0] == "dangling_edge"
    assert "ghost → a" in problems[0].message and "'ghost'" in problems[0].message
    assert problems[0].refs == ("ghost → a",) and problems[0].part == "edges"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_node_rules(framework):
    nodes = [
        impact(), impact("impact"),                          # duplicate id
        Node("x", "x", "symptom"),                           # unknown kind
        Node("f", "f", "factor"),                            # factor without category
        Node("g", "g", "factor", category="people"),         # unknown category
        Node("b", "b", "barrier"),                           # barrier without state
        Node("s", "s", "barrier", barrier_state="broken"),   # unknown state
        Node("h", "h", "factor", category="process", barrier_state="held"),  # state on a non-barrier
    ]
    problems = [p for p in validate_graph(framework, nodes, []) if not p.code.startswith("five_whys")]
    assert [(p.code, p.refs) for p in problems] == [
        ("duplicate_node", ("impact",)),
        ("unknown_kind", ("x",)),
        ("factor_without_category", ("f",)),
        ("unknown_category", ("g",)),
        ("barrier_without_state", ("b",)),
        ("unknown_barrier_state", ("s",)),
        ("barrier_state_on_non_barrier", ("h",)),
    ]
    for problem in problems:
        assert repr(problem.refs[0]) in problem.message and problem.part == "nodes"


def test_a_duplicate_edge_is_named():
    problems = validate_graph("contribution_map", [impact(), factor("a")], edges(("a", "impact"), ("a", "impact")))
    assert codes(problems) == ["duplicate_edge"]
    assert "a → impact" in problems[0].message


def test_every_barrier_state_and_category_is_accepted():
    nodes = [impact(), *(barrier(s, s) for s in ("held", "failed", "missing", "bypassed")),
             *(factor(c, c) for c in ("technical", "process", "organizational"))]
    assert validate_graph("barrier_analysis", nodes, []) == []


def test_an_unknown_framework_is_a_problem():
    assert codes(validate_graph("fishbone", [], [])) == ["unknown_framework"]


# --- five whys -------------------------------------------------------------------------------------


def test_five_whys_needs_exactly_one_impact():
    two = validate_graph("five_whys", [impact("a"), impact("b")], [])
    assert codes(two) == ["five_whys_impact_count"]
    assert "'a', 'b'" in two[0].message


def test_five_whys_impact_has_no_outgoing_edge():
    problems = validate_graph("five_whys", [impact(), factor("a")], edges(("a", "impact"), ("impact", "a")))
    assert "five_whys_impact_has_effect" in codes(problems)
    assert "impact → a" in next(p for p in problems if p.code == "five_whys_impact_has_effect").message


def test_five_whys_node_without_effect_is_named():
    problems = validate_graph("five_whys", [impact(), factor("a"), factor("orphan")], edges(("a", "impact")))
    assert [(p.code, p.refs) for p in problems] == [("five_whys_unattached_node", ("orphan",))]


def test_five_whys_node_with_two_effects_is_named():
    nodes = [impact(), factor("a"), factor("b"), factor("root")]
    problems = validate_graph("five_whys", nodes, edges(("a", "impact"), ("b", "impact"), ("root", "a"),
                                                        ("root", "b")))
    assert [(p.code, p.refs) for p in problems] == [("five_whys_several_effects", ("root → a", "root → b"))]
    assert "'root'" in problems[0].message


def test_the_linear_chain_of_seed_001_is_a_valid_five_whys():
    whys = ["memory", "limits", "defaults", "templates", "feedback"]
    nodes = [impact("unresponsive"), *(factor(w, "process") for w in whys)]
    chain = edges(("memory", "unresponsive"), *zip(whys[1:], whys[:-1]))
    assert validate_graph("five_whys", nodes, chain) == []
