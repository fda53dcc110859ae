"""Async storage: engine, sessions, the declarative base and its naming convention."""

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, TypeVarTuple

import sqlalchemy as sa
from sqlalchemy import Select, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Ts = TypeVarTuple("Ts")
R = TypeVar("R")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Loopgate stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class EncodedJSON(str):
    """JSON text that is already encoded, such as a webhook body kept as it arrived."""


class PayloadJSON(sa.TypeDecorator[Any]):
    """A JSON column that also takes `EncodedJSON` as is: no decode-and-re-encode on the hot path."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else sa.JSON())

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        encode = self.load_dialect_impl(dialect).bind_processor(dialect)

        def process(value: Any) -> Any:
            if isinstance(value, EncodedJSON):
                return str(value)
            return encode(value) if encode else value

        return process


def dialect_of(session: AsyncSession) -> str:
    """The session's backend: "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession, table: type[Any] | sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT on the session's backend."""
    return postgresql.insert(table) if dialect_of(session) == "postgresql" else sqlite.insert(table)


def lock_for_update(session: AsyncSession, query: Select[*Ts], *,
                    skip_locked: bool = False) -> Select[*Ts]:
    """Row locks on PostgreSQL (`skip_locked`: leave rows another transaction holds); SQLite serialises
    writers on its own."""
    if dialect_of(session) != "postgresql":
        return query
    return query.with_for_update(skip_locked=skip_locked)


async def serialize_on(session: AsyncSession, keys: Iterable[str]) -> None:
    """Hold a transaction-scoped lock on each of `keys` (PostgreSQL; SQLite already has one writer at a
    time), in one statement and in sorted order, so that two transactions locking overlapping sets
    never wait for each other crosswise."""
    ordered = sorted(set(keys))
    if dialect_of(session) == "postgresql" and ordered:
        await session.execute(_LOCK_ALL, {"keys": ordered})


async def try_serialize_on(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """The `keys` whose `serialize_on` lock this transaction got without waiting (PostgreSQL): a key
    another transaction holds is left out. SQLite has one writer at a time: every key."""
    wanted = set(keys)
    if dialect_of(session) != "postgresql" or not wanted:
        return wanted
    return set((await session.execute(_TRY_LOCK, {"keys": sorted(wanted)})).scalars())


# Advisory locks keyed by hashtext of the key, for an array of keys.
_LOCK_ALL = sa.text("SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(CAST(:keys AS text[])) AS k")
_TRY_LOCK = sa.text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE pg_try_advisory_xact_lock(hashtext(k))")


RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


CONFLICT_RETRIES = 3


def is_retryable(exc: BaseException) -> bool:
    """A transaction the database aborted to break a conflict; running it again is safe."""
    return isinstance(exc, sa.exc.DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


async def in_transaction(sessionmaker: async_sessionmaker[AsyncSession],
                         work: Callable[[AsyncSession], Awaitable[R]]) -> R:
    """Run `work(session)` (which commits) in a fresh session; again, from the start, when the database
    broke a lock conflict by aborting it — the next try sees the winner's rows. Other errors propagate."""
    for attempt in range(CONFLICT_RETRIES + 1):
        async with sessionmaker() as session:
            try:
                return await work(session)
            except Exception as exc:
                await session.rollback()
                if not is_retryable(exc) or attempt == CONFLICT_RETRIES:
                    raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for SQLite (WAL, foreign keys, a busy timeout) or PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


def create_sessionmaker(engine: AsyncEngine, **info: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit; `info` carries the queue."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)
