"""GET /api/v1/metrics/patterns: tags and categories recurring across distinct postmortems."""

from app.core.settings import Settings
from app.metrics.patterns import RECOMMENDATIONS
from tests.support.constants import ADMIN
from tests.support.metrics import NOW, history, store


async def patterns(client, **params):
    response = await client.get("/api/v1/metrics/patterns", headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_recurring_tags_and_categories(client, runtime, clock):
    clock.set(NOW)
    h = await store(runtime, history())
    ids = {name: str(pm.id) for name, pm in h.postmortems.items()}
    body = await patterns(client)
    assert body["min_occurrences"] == 3
    # technical: F7 (PM5), F1 (PM1), F5 (PM4), F3 (PM2); configuration: F1+F2 (PM1, counted once), F5, F3.
    # deployment (PM1, PM3), capacity (PM5, PM4), process (PM1, PM3) recur only twice.
    assert body["items"] == [
        {"kind": "category", "key": "technical", "occurrences": 4,
         "postmortem_ids": [ids["PM5"], ids["PM1"], ids["PM4"], ids["PM2"]],
         "recommendation": RECOMMENDATIONS["technical"], "has_systemic_finding": True},
        {"kind": "tag", "key": "configuration", "occurrences": 3,
         "postmortem_ids": [ids["PM1"], ids["PM4"], ids["PM2"]],
         "recommendation": RECOMMENDATIONS["configuration"], "has_systemic_finding": True},
    ]
    twice = await patterns(client, min_occurrences=2)
    assert [(p["kind"], p["key"], p["has_systemic_finding"]) for p in twice["items"]] == [
        ("category", "technical", True), ("tag", "configuration", True), ("category", "process", False),
        ("tag", "capacity", False), ("tag", "deployment", True)]


async def test_window_on_postmortem_creation_and_service(client, runtime, clock):
    clock.set(NOW)
    h = await store(runtime, history())
    # Created from 10-06: PM1, PM4, PM2, PM3; technical now in PM1, PM4, PM2.
    body = await patterns(client, since="2026-10-06T00:00:00Z")
    assert [(p["key"], p["occurrences"]) for p in body["items"]] == [("technical", 3), ("configuration", 3)]
    # Checkout's postmortems (PM1, PM4, PM3): configuration in PM1 and PM4 only.
    assert (await patterns(client, service="checkout"))["items"] == []
    # Most frequent first, then categories before tags, then by key.
    assert [p["key"] for p in (await patterns(client, service="checkout", min_occurrences=2))["items"]] == [
        "process", "technical", "configuration", "deployment"]
    assert h.postmortems


async def test_recommendations_are_configurable(client, runtime, clock):
    clock.set(NOW)
    runtime.settings = runtime.settings.model_copy(
        update={"pattern_recommendations": {"configuration": "Validate config in CI."}})
    await store(runtime, history())
    body = await patterns(client, min_occurrences=2)
    advice = {p["key"]: p["recommendation"] for p in body["items"]}
    assert advice["configuration"] == "Validate config in CI."
    assert advice["process"] == RECOMMENDATIONS["process"]



def test_recommendations_come_from_a_json_object(monkeypatch):
    monkeypatch.setenv("LOOPGATE_PATTERN_RECOMMENDATIONS", '{"capacity": "Load-test before campaigns."}')
    assert Settings().pattern_recommendations == {"capacity": "Load-test before campaigns."}


async def test_refusals(client):
    response = await client.get("/api/v1/metrics/patterns", headers=ADMIN, params={"min_occurrences": 0})
    assert response.status_code == 422
