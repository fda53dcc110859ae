"""Shared fixtures: the real database (PostgreSQL or SQLite), Redis, the app, a client, a movable clock.

`LOOPGATE_TEST_BACKEND=postgres` (with `LOOPGATE_TEST_POSTGRES_URL`) or `sqlite` picks the
database; `make test` runs the suite on both. Redis comes from `LOOPGATE_TEST_REDIS_URL`.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.core import clock as app_clock
from app.core.settings import Settings
from app.core.db import create_engine
from app.main import create_app
from app.core.migrations import upgrade
from app.models import metadata
from app.runtime import Runtime
from tests.support.standins import JiraStandIn
from tests.support.constants import ADMIN_TOKEN, PD_SECRET
from tests.support.jira import jira_settings

BACKEND = os.environ.get("LOOPGATE_TEST_BACKEND", "sqlite")


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`, which starts the servers", pytrace=False)
    return value


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _required_env("LOOPGATE_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _required_env("LOOPGATE_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "postgres":
        url = _required_env("LOOPGATE_TEST_POSTGRES_URL")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'loopgate.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def clean_database(database_url: str) -> AsyncIterator[str]:
    """Every test starts from empty tables (the schema stays, migrated once per run)."""
    engine = create_engine(database_url)
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                await connection.execute(sa.text(f"DELETE FROM {table}"))
    await engine.dispose()
    yield database_url


@pytest.fixture
def settings(clean_database: str) -> Settings:
    return Settings(
        database_url=clean_database,
        admin_token=ADMIN_TOKEN,
        pagerduty_webhook_secrets=PD_SECRET,
        redis_url=None,
        sweep_interval_seconds=3600,
        metrics_refresh_seconds=0,  # tests refresh the gauges when they look at them
        schedule_in_process=False,  # tests run the scheduled jobs themselves, on a clock they move
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        # The start-up sweep runs beside the app: let it finish (and what it resubmitted), so that it
        # never takes up rows a test writes straight into the tables.
        runtime = application.state.runtime
        await asyncio.wait_for(runtime.swept.wait(), 30)
        await runtime.queue.drain()
        yield application


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    return app.state.runtime


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://loopgate.test") as http:
        yield http


class MovableClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[MovableClock]:
    movable = MovableClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    app_clock.set_clock(movable)
    yield movable
    app_clock.set_clock(None)


# --- Jira: the app wired to a stand-in Jira (one server per module, reset for every test) ----------------------

@pytest.fixture(scope="module")
def jira_server():
    with JiraStandIn(search_lag_seconds=0.0) as standin:
        yield standin


@pytest.fixture
def jira(jira_server):
    jira_server.reset()
    yield jira_server
    assert jira_server.server_errors == []
    jira_server.reset()


@pytest.fixture
async def jira_client(settings, jira):
    """An HTTP client over an app that talks to the Jira stand-in; `.runtime` is the app's runtime."""
    app = create_app(jira_settings(settings, jira))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.runtime = app.state.runtime
            yield client
