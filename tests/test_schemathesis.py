"""Schemathesis against the committed openapi.yaml and a real server: no generated input gives a 500."""

import subprocess
import sys
from pathlib import Path

from app.main import create_app
from tests.support.constants import ADMIN_TOKEN
from tests.support.standins import JiraStandIn
from tests.support.jira import jira_settings
from tests.support.server import serving

SCHEMA = Path(__file__).resolve().parents[1] / "openapi.yaml"


def test_no_generated_request_is_a_server_error(settings):
    # With a Jira to ask, an unknown `jira_key` is a 422; without one it would rightly be a 502.
    jira = JiraStandIn().start()
    settings = jira_settings(settings, jira)
    try:
        with serving(create_app(settings)) as url:
            result = subprocess.run(
                [str(Path(sys.executable).with_name("st")), "run", str(SCHEMA), "--url", url,
                 "--checks", "not_a_server_error", "--max-examples", "25", "--workers", "1", "--seed", "1",
                 "-H", f"Authorization: Bearer {ADMIN_TOKEN}"],
                capture_output=True, text=True, timeout=600)
    finally:
        jira.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "generated" in result.stdout and "passed" in result.stdout
