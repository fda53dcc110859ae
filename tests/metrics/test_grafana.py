"""deploy/grafana/loopgate.json names only metrics that /metrics exposes."""

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from app.metrics.gauges import refresh

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "loopgate.json"

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def expressions(node) -> list[str]:
    """Every PromQL expression of the dashboard, however deep its panels are nested."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for value in node for e in expressions(value)]
    return []


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: identifiers that are not functions, keywords or label names."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\(|[A-Za-z0-9_:])", text)
    return {n for n in names if n not in {"and", "or", "unless", "offset", "bool", "inf", "nan"}}


def exposed(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(s.name for s in family.samples)
    return names


def test_the_name_parser_finds_series_and_skips_functions_and_labels():
    expr = 'histogram_quantile(0.95, sum by (job, le) (rate(loopgate_job_duration_seconds_bucket{job="x"}[5m])))'
    assert metric_names(expr) == {"loopgate_job_duration_seconds_bucket"}
    assert metric_names("time() - loopgate_metrics_refreshed_timestamp_seconds") == {
        "loopgate_metrics_refreshed_timestamp_seconds"}
    assert metric_names('a_metric{w="$window"} / on (x) b_metric') == {"a_metric", "b_metric"}


async def test_every_dashboard_expression_names_a_metric_that_metrics_exposes(client, runtime):
    await refresh(runtime)
    available = exposed((await client.get("/metrics")).text)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = expressions(dashboard["panels"])
    assert len(exprs) >= 20
    used = {name for expr in exprs for name in metric_names(expr)}
    assert used, "no metric names found"
    assert not {name for name in used if not name.startswith("loopgate_")}
    assert used - available == set()
    # and every loop gauge is on the dashboard
    loop_gauges = {n for n in available if n.startswith("loopgate_") and n.endswith(("_seconds", "_rate", "_days"))
                   and "http" not in n and "job" not in n and "refresh" not in n}
    assert loop_gauges - used == set()
