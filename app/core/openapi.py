"""The OpenAPI document an app serves, as YAML (`loopgate openapi` writes openapi.yaml)."""

import yaml
from fastapi import FastAPI


def openapi_yaml(app: FastAPI) -> str:
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=120)
