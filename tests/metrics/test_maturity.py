"""GET /api/v1/metrics/maturity: the highest level whose criteria (and every level's below) hold."""

import pytest

from app.core.settings import Settings
from app.main import create_app
from app.models.audit import AuditEntry
from tests.support.constants import ADMIN
from tests.support.metrics import NOW, history, store


async def maturity(client):
    response = await client.get("/api/v1/metrics/maturity", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def criteria(body, level):
    return {c["name"]: (c["value"], c["threshold"], c["met"]) for c in body["levels"][level - 1]["criteria"]}


async def test_levels_of_the_history(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())
    body = await maturity(client)
    assert (body["level"], body["name"]) == (2, "Managed")
    assert [(level["level"], level["met"]) for level in body["levels"]] == [
        (1, True), (2, True), (3, False), (4, False), (5, False)]
    assert criteria(body, 2) == {"postmortems": (5, 1, True), "postmortem_completion_rate": (0.75, 0.5, True),
                                 "action_items_with_owner": (1.0, 1.0, True)}
    assert criteria(body, 3) == {
        "postmortem_completion_rate": (0.75, 0.8, False), "action_item_completion_rate": (0.4, 0.6, False),
        "closed_postmortems_passed_gate": (1.0, 1.0, True),  # PM1, closed through the gate
        "time_to_insight_median_seconds": (172200, 7 * 86400, True)}
    # Last 90 days (from 08-24 12:00): all ten incidents, six repeats; the 90 days before: none (null).
    assert criteria(body, 4) == {
        "on_time_rate": (0.75, 0.7, True), "repeat_rate_last_90_days_below_previous_90": (0.6, None, False),
        "patterns_with_systemic_finding": (1.0, 1.0, True),  # technical and configuration: F1 is systemic
        "time_to_remediation_median_seconds": (119 * 3600, 30 * 86400, True)}
    assert criteria(body, 5) == {
        "recurred_after_remediation_last_90_days": (1, 0, False),  # K2
        "action_item_completion_rate": (0.4, 0.9, False),
        "durable_action_share": (0.3, 0.5, False)}  # I1, I8 eliminate, I2 guardrail of 10


async def test_thresholds_are_configurable_and_levels_cumulative(client, runtime, clock):
    clock.set(NOW)
    runtime.settings = runtime.settings.model_copy(update={"maturity_thresholds": {
        "3.postmortem_completion_rate": 0.7, "3.action_item_completion_rate": 0.4,
        "5.recurred_after_remediation_last_90_days": 1, "5.action_item_completion_rate": 0.4,
        "5.durable_action_share": 0.3}})
    await store(runtime, history())
    body = await maturity(client)
    # Level 5's criteria now all hold, but level 4 does not (repeat rate), so 5 is not reached.
    assert body["level"] == 3
    assert all(c["met"] for c in body["levels"][4]["criteria"])
    assert [level["met"] for level in body["levels"]] == [True, True, True, False, False]


async def test_a_closed_postmortem_without_a_gated_close_fails_the_criterion(client, runtime, clock):
    clock.set(NOW)
    h = history()
    h.rows = [row for row in h.rows if not isinstance(row, AuditEntry)]
    await store(runtime, h)
    assert criteria(await maturity(client), 3)["closed_postmortems_passed_gate"] == (0.0, 1.0, False)


async def test_an_empty_database_is_level_1(client):
    body = await maturity(client)
    assert body["level"] == 1
    assert criteria(body, 2)["postmortems"] == (0, 1, False)
    assert criteria(body, 2)["action_items_with_owner"] == (None, 1.0, True)  # no item lacks an owner


def test_an_unknown_threshold_is_refused_at_start():
    with pytest.raises(ValueError, match="unknown criteria 3.postmortem_rate"):
        create_app(Settings(maturity_thresholds={"3.postmortem_rate": 0.5}))
