"""Incident jobs: relink the repeats of a fingerprint; sweep up relinks whose job was lost."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db import in_transaction
from app.incidents.service import pending_relinks, relink_requested
from app.queue import Job


async def link_repeats(ctx: dict[str, Any], fingerprint: str, around: str | None) -> None:
    """Recompute `repeat_of_id` around one trigger time; a pure recomputation, so running twice is harmless."""
    runtime = ctx["runtime"]
    if around is None:
        return
    moment = datetime.fromisoformat(around)

    async def relink(session: AsyncSession) -> None:
        await relink_requested(session, fingerprint=fingerprint, around=moment,
                               lookback=timedelta(days=runtime.settings.repeat_lookback_days))
        await session.commit()

    await in_transaction(runtime.sessionmaker, relink)


async def sweep_relinks(ctx: dict[str, Any], *, grace: timedelta) -> int:
    """Resubmit the relinks still requested `grace` after they were (a restart, a lost or failed job)."""
    runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        pending = await pending_relinks(session, requested_before=clock.now() - grace)
    for fingerprint, around in pending:
        runtime.queue.submit(Job("link_repeats", (fingerprint, around.isoformat())))
    return len(pending)
