"""Incident jobs: relink the repeats that applying events asked for; sweep up relinks whose job was lost."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import in_transaction
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.incidents.service import has_pending_relinks, relink_pending, relink_requested

# Requested relinks recomputed per transaction.
RELINK_BATCH = 500


async def link_repeats(ctx: JobContext, fingerprint: str | None = None, around: str | None = None) -> None:
    """Recompute `repeat_of_id` for every pending request, a batch per transaction (or for one fingerprint
    around one trigger time, when given); a pure recomputation, so running twice is harmless."""
    runtime = runtime_of(ctx)
    lookback = timedelta(days=runtime.settings.repeat_lookback_days)
    if fingerprint is not None:
        if around is None:
            return
        moment = datetime.fromisoformat(around)

        async def relink_one(session: AsyncSession) -> None:
            await relink_requested(session, fingerprint=fingerprint, around=moment, lookback=lookback)
            await session.commit()

        await in_transaction(runtime.sessionmaker, relink_one)
        return

    while True:
        size = runtime.batch_size(RELINK_BATCH)  # smaller while webhooks arrive in this process

        async def relink_batch(session: AsyncSession, size: int = size) -> int:
            done = await relink_pending(session, limit=size, lookback=lookback)
            await session.commit()
            return done

        if await in_transaction(runtime.sessionmaker, relink_batch) < size:
            return
        await runtime.give_way()


async def sweep_relinks(ctx: JobContext, *, grace: timedelta) -> bool:
    """Wake the relink job when a request is still pending `grace` after it was made (a restart, a lost or
    failed job)."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        pending = await has_pending_relinks(session, requested_before=clock.now() - grace)
    if pending:
        runtime.queue.submit(Job("link_repeats"))
    return pending
