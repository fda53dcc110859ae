"""Incident jobs: relink the repeats of a fingerprint; sweep up relinks whose job was lost."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import in_transaction
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.incidents.service import pending_relinks, relink_requested


async def link_repeats(ctx: JobContext, fingerprint: str, around: str | None) -> None:
    """Recompute `repeat_of_id` around one trigger time; a pure recomputation, so running twice is harmless."""
    runtime = runtime_of(ctx)
    if around is None:
        return
    moment = datetime.fromisoformat(around)

    async def relink(session: AsyncSession) -> None:
        await relink_requested(session, fingerprint=fingerprint, around=moment,
                               lookback=timedelta(days=runtime.settings.repeat_lookback_days))
        await session.commit()

    await in_transaction(runtime.sessionmaker, relink)


async def sweep_relinks(ctx: JobContext, *, grace: timedelta) -> int:
    """Resubmit the relinks still requested `grace` after they were (a restart, a lost or failed job)."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        pending = await pending_relinks(session, requested_before=clock.now() - grace)
    for fingerprint, around in pending:
        runtime.queue.submit(Job("link_repeats", (fingerprint, around.isoformat())))
    return len(pending)
