"""The inbox: record each delivery once; claim stored events in batches, mark them handled, keep failures."""

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.core import clock
from app.core.db import dialect_of, lock_for_update
from app.core.inbox import StoredEvent
from app.core.queue import Job, enqueue_after_commit
from app.models.inbound import InboundEvent

# The one job that applies stored events (app/inbound/jobs.py): whatever stores rows in the inbox
# (the webhooks' writer, the sweeper, a backfill) wakes it by this name, after its rows commit.
APPLY_INBOX = "apply_inbox"
APPLY = Job(APPLY_INBOX)

# The claim is Core on the table (no ORM bookkeeping per row); the columns in StoredEvent's order.
_INBOX = SQLModel.metadata.tables["inbound_events"]
_RETURNED = tuple(_INBOX.c[name] for name in StoredEvent.__slots__)


def request_apply(session: AsyncSession) -> None:
    """Wake the apply job once this session's transaction, which stored inbox rows, commits."""
    enqueue_after_commit(session, APPLY_INBOX)


async def claim_batch(session: AsyncSession, *, limit: int, max_attempts: int,
                      retry_failed: bool = False) -> list[StoredEvent]:
    """Up to `limit` unhandled events, oldest first, counted as attempted and held for this transaction.

    One UPDATE … RETURNING: on SQLite it is the transaction's first statement and a write, so it
    takes the database's write lock before anything is read (a read first could see a stale row);
    on PostgreSQL `SKIP LOCKED` leaves rows another worker holds to that worker. Rows that failed
    before wait for the sweeper's run (`retry_failed`), so a poison row is not retried in a loop.
    """
    pick = (
        sa.select(_INBOX.c.id)
        .where(_INBOX.c.handled_at.is_(None), _INBOX.c.attempts < max_attempts)
        .order_by(_INBOX.c.received_at, _INBOX.c.id)
        .limit(limit)
    )
    if not retry_failed:
        pick = pick.where(_INBOX.c.error.is_(None))
    chosen = lock_for_update(session, pick, skip_locked=True).scalar_subquery()
    claim = (
        sa.update(_INBOX)
        # PostgreSQL plans `id IN (subquery)` as a hash join over the whole table, handled rows too;
        # `= ANY(ARRAY(subquery))` looks the chosen rows up by primary key.
        .where(_INBOX.c.id == sa.any_(sa.func.array(chosen)) if dialect_of(session) == "postgresql"
               else _INBOX.c.id.in_(chosen))
        .values(attempts=_INBOX.c.attempts + 1)
        .returning(*_RETURNED)
    )
    rows = (await session.execute(claim)).all()
    events = [StoredEvent(*row) for row in rows]
    events.sort(key=lambda e: (e.received_at, e.id))
    return events


async def mark_handled(session: AsyncSession, *, ids: Sequence[uuid.UUID]) -> None:
    """One statement for the whole batch: handled now, no error."""
    if ids:
        await session.execute(sa.update(_INBOX).where(_INBOX.c.id.in_(ids)).values(handled_at=clock.now(), error=None))


async def release(session: AsyncSession, *, ids: Sequence[uuid.UUID]) -> None:
    """Give claimed rows back unhandled, their claim's attempt uncounted: a later batch takes them."""
    if ids:
        await session.execute(sa.update(_INBOX).where(_INBOX.c.id.in_(ids)).values(attempts=_INBOX.c.attempts - 1))


async def record_failure(session: AsyncSession, *, inbound_id: uuid.UUID, error: str, count: bool = False) -> None:
    """Keep the error where an operator sees it; `count`: the attempt was not counted by a claim."""
    values: dict[str, object] = {"error": error[:4000]}
    if count:
        values["attempts"] = _INBOX.c.attempts + 1
    await session.execute(sa.update(_INBOX).where(_INBOX.c.id == inbound_id).values(**values))


async def unhandled_count(session: AsyncSession, *, max_attempts: int, received_before: datetime | None = None) -> int:
    """Events a lost or failed job left behind."""
    query = sa.select(sa.func.count()).select_from(InboundEvent).where(
        col(InboundEvent.handled_at).is_(None), col(InboundEvent.attempts) < max_attempts)
    if received_before is not None:
        query = query.where(col(InboundEvent.received_at) < received_before)
    return int(await session.scalar(query) or 0)
