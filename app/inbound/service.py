"""The inbox: record each delivery once, hand it to its source's handler, mark it handled."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.db import lock_for_update
from app.models.inbound import InboundEvent


async def claim(session: AsyncSession, *, inbound_id: uuid.UUID) -> InboundEvent | None:
    """The unhandled event, locked for this transaction; None if handled or held by another worker."""
    query = sa.select(InboundEvent).where(col(InboundEvent.id) == inbound_id, col(InboundEvent.handled_at).is_(None))
    return await session.scalar(lock_for_update(session, query, skip_locked=True))


async def unhandled_ids(session: AsyncSession, *, max_attempts: int, received_before: datetime | None = None,
                        limit: int = 1000) -> list[uuid.UUID]:
    """Events a lost or failed job left behind, oldest first."""
    query = (
        sa.select(col(InboundEvent.id))
        .where(col(InboundEvent.handled_at).is_(None), col(InboundEvent.attempts) < max_attempts)
        .order_by(col(InboundEvent.received_at))
        .limit(limit)
    )
    if received_before is not None:
        query = query.where(col(InboundEvent.received_at) < received_before)
    return list(await session.scalars(query))


async def record_failure(session: AsyncSession, *, inbound_id: uuid.UUID, error: str) -> None:
    """Count a failed attempt and keep the error where an operator sees it."""
    await session.execute(
        sa.update(InboundEvent)
        .where(col(InboundEvent.id) == inbound_id)
        .values(attempts=col(InboundEvent.attempts) + 1, error=error[:4000])
    )


def mark_handled(event: InboundEvent) -> None:
    event.handled_at = clock.now()
    event.attempts += 1
    event.error = None
