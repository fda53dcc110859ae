"""The committed openapi.yaml is exactly what the app serves."""

from pathlib import Path

import yaml

from app.core.openapi import openapi_yaml
from app.core.settings import Settings
from app.main import create_app

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.yaml"


def test_committed_openapi_matches_the_app():
    assert yaml.safe_load(COMMITTED.read_text()) == yaml.safe_load(openapi_yaml(create_app(Settings()))), (
        "openapi.yaml is stale: run `make openapi`"
    )


async def test_the_served_document_is_the_app_document(client):
    served = (await client.get("/openapi.json")).json()
    assert served == yaml.safe_load(openapi_yaml(create_app(Settings())))
