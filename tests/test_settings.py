"""Every setting of DESIGN §6 with its default; an invalid value is a clear start-up error."""

import os
import subprocess
import sys

import pytest

from app.core.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_design(monkeypatch):
    for name in list(os.environ):
        if name.startswith("LOOPGATE_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./loopgate.db"
    assert settings.redis_url is None
    assert settings.admin_token is None
    assert settings.public_url == "http://localhost:8000"
    assert settings.pagerduty_api_url == "https://api.pagerduty.com"
    assert settings.pagerduty_api_token is None and settings.pagerduty_webhook_secrets == []
    assert settings.ca_bundle is None
    assert (settings.jira_url, settings.jira_email, settings.jira_api_token, settings.jira_project) == (None,) * 4
    assert settings.jira_issue_type == "Task" and settings.jira_webhook_secret is None
    assert settings.packet_sla_hours == 24
    assert settings.postmortem_required_severities == ["critical", "high"]
    assert settings.postmortem_due_days == 7
    assert settings.repeat_lookback_days == 90
    assert settings.max_body_bytes == 262144
    assert settings.priority_severity == {"P1": "critical", "P2": "high", "P3": "medium", "P4": "low", "P5": "low"}


def test_environment_values_and_secrets(monkeypatch):
    monkeypatch.setenv("LOOPGATE_PAGERDUTY_WEBHOOK_SECRETS", "old, new")
    monkeypatch.setenv("LOOPGATE_ADMIN_TOKEN", "s3cret")
    monkeypatch.setenv("LOOPGATE_POSTMORTEM_REQUIRED_SEVERITIES", "critical")
    settings = Settings()
    assert [s.get_secret_value() for s in settings.pagerduty_webhook_secrets] == ["old", "new"]
    assert "s3cret" not in repr(settings)
    assert settings.postmortem_required_severities == ["critical"]


@pytest.mark.parametrize("name,value,fragment", [
    ("LOOPGATE_MAX_BODY_BYTES", "lots", "LOOPGATE_MAX_BODY_BYTES"),
    ("LOOPGATE_DATABASE_URL", "mysql://x", "LOOPGATE_DATABASE_URL"),
    ("LOOPGATE_REDIS_URL", "localhost:6379", "LOOPGATE_REDIS_URL"),
    ("LOOPGATE_PRIORITY_SEVERITY_MAP", "P1", "LOOPGATE_PRIORITY_SEVERITY_MAP"),
])
def test_invalid_values_are_named_in_a_readable_error(monkeypatch, name, value, fragment):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert fragment in str(raised.value.code)


def test_the_cli_reports_an_invalid_setting_without_a_traceback():
    env = {**os.environ, "LOOPGATE_MAX_BODY_BYTES": "lots"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode != 0
    assert "LOOPGATE_MAX_BODY_BYTES" in result.stderr
    assert "Traceback" not in result.stderr
