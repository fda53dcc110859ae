"""Jobs of the inbox: handle one stored event; sweep up what lost jobs left behind."""

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import in_transaction
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.core.settings import Settings
from app.inbound import service
from app.models.inbound import InboundEvent

log = logging.getLogger(__name__)

# A fresh row's own job is probably still on its way; the sweeper leaves it alone this long.
SWEEP_GRACE = timedelta(seconds=30)


# How a domain applies a stored event of its source, in the job's transaction (wired in app/runtime.py).
Apply = Callable[[AsyncSession, InboundEvent, Settings], Awaitable[None]]


async def handle_inbound(ctx: JobContext, inbound_id: str, *, appliers: Mapping[str, Apply]) -> None:
    """Apply one stored webhook event with its source's domain; a handled event is left alone, so running
    twice is harmless. A failure is counted and kept on the row for the sweeper."""
    runtime = runtime_of(ctx)
    event_id = uuid.UUID(inbound_id)

    async def apply(session: AsyncSession) -> None:
        event = await service.claim(session, inbound_id=event_id)
        if event is None:
            return
        await appliers[event.source](session, event, runtime.settings)
        service.mark_handled(event)
        await session.commit()

    try:
        await in_transaction(runtime.sessionmaker, apply)
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        async with runtime.sessionmaker() as session:
            await service.record_failure(session, inbound_id=event_id, error=failure)
            await session.commit()
        log.warning("inbound event %s failed: %s", inbound_id, failure)


async def sweep(ctx: JobContext, *, grace: timedelta = SWEEP_GRACE) -> int:
    """Resubmit every event left unhandled (a restart, a lost job, a failure below the attempt cap)."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        ids = await service.unhandled_ids(
            session, max_attempts=runtime.settings.job_max_attempts, received_before=clock.now() - grace
        )
    for inbound_id in ids:
        runtime.queue.submit(Job("handle_inbound", (str(inbound_id),)))
    return len(ids)
