"""Reading the database behind the app directly."""

import sqlalchemy as sa

from app.runtime import Runtime


async def count_rows(runtime: Runtime, table: str) -> int:
    async with runtime.engine.connect() as connection:
        return (await connection.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
