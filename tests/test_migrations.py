"""Alembic is the only way tables come to exist: empty → head → base → head, and models match head."""

import asyncio
import uuid

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command

from app.core.db import create_engine
from app.core.migrations import alembic_config, downgrade, upgrade


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


def round_trip(url: str) -> None:
    upgrade(url)
    tables = asyncio.run(table_names(url))
    assert {"api_tokens", "audit_entries", "inbound_events", "incidents"} <= tables
    command.check(alembic_config(url))  # the models and the migrations agree
    downgrade(url, "base")
    assert asyncio.run(table_names(url)) == set()
    upgrade(url)
    assert asyncio.run(table_names(url)) == tables


@pytest.fixture
def scratch_postgres(postgres_url):
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = postgres_url.replace("postgresql+asyncpg", "postgresql")

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(sql)
        await connection.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f"DROP DATABASE {name}"))


def test_postgres_upgrade_downgrade_upgrade(scratch_postgres):
    round_trip(scratch_postgres)


def test_sqlite_upgrade_downgrade_upgrade(tmp_path):
    round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
