"""Print the OpenAPI document the app serves, as YAML (`make openapi` writes openapi.yaml)."""

import sys

import yaml

from app.config import Settings
from app.main import create_app


def openapi_yaml() -> str:
    return yaml.safe_dump(create_app(Settings()).openapi(), sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    sys.stdout.write(openapi_yaml())
