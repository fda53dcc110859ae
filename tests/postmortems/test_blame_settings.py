"""LOOPGATE_BLAME_INDICATORS and LOOPGATE_BLAME_BLOCKING: the lint's phrases, and whether blame blocks a close."""

import pytest

from app.core.settings import Settings, SettingsError, load_settings
from app.postmortems.blame import DEFAULT_INDICATORS, indicators_of
from tests.support.constants import ADMIN
from tests.support.factories import add_finding, add_packet, make_incident, make_postmortem, move


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"blame_blocking": True,
                                       "blame_indicators": "cowboy=Describe the safeguard that was missing.;"
                                                           "~failed to"})


def test_defaults_warn_with_the_built_in_indicators(monkeypatch):
    monkeypatch.delenv("LOOPGATE_BLAME_INDICATORS", raising=False)
    monkeypatch.delenv("LOOPGATE_BLAME_BLOCKING", raising=False)
    defaults = Settings()
    assert defaults.blame_indicators == "" and defaults.blame_blocking is False
    assert indicators_of(defaults) == DEFAULT_INDICATORS


def test_an_invalid_indicator_list_is_a_start_up_error(monkeypatch):
    monkeypatch.setenv("LOOPGATE_BLAME_INDICATORS", "careless=;")
    with pytest.raises(SettingsError, match="LOOPGATE_BLAME_INDICATORS"):
        load_settings()


async def test_the_lint_route_uses_the_configured_indicators(client):
    text = "A cowboy deploy went out. The engineer was careless. Dana failed to page the team."
    issues = (await client.post("/api/v1/lint/blame", headers=ADMIN, json={"text": text})).json()["issues"]
    assert [(i["indicator"], i["suggestion"]) for i in issues] == [
        ("cowboy", "Describe the safeguard that was missing."),
        ("failed to", "Focus on the system, not the person: what made this easy to get wrong?"),
    ]


async def test_blocking_blame_language_refuses_the_close(client, runtime):
    incident = await make_incident(client, runtime)
    await add_packet(runtime, incident)
    postmortem = await make_postmortem(client, [incident], title="The cowboy deploy")
    finding = await add_finding(client, postmortem["id"])
    await move(client, postmortem["id"], "in_review", "published")
    refused = await move(client, postmortem["id"], "closed")
    assert refused.status_code == 409
    assert [v["code"] for v in refused.json()["violations"]] == ["blame_language"]
    await client.patch(f"/api/v1/postmortems/{postmortem['id']}", headers=ADMIN, json={"title": "The rushed deploy"})
    closed = await move(client, postmortem["id"], "closed")
    assert closed.status_code == 200, closed.text
    assert closed.json()["findings"][0]["id"] == finding["id"]
