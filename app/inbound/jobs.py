"""Jobs of the inbox: handle one stored event; sweep up what lost jobs left behind."""

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.db import in_transaction
from app.inbound import service
from app.queue import Job

log = logging.getLogger(__name__)

# A fresh row's own job is probably still on its way; the sweeper leaves it alone this long.
SWEEP_GRACE = timedelta(seconds=30)


async def handle_inbound(ctx: dict[str, Any], inbound_id: str) -> None:
    """Apply one stored webhook event; a handled event is left alone, so running twice is harmless."""
    runtime = ctx["runtime"]
    event_id = uuid.UUID(inbound_id)

    async def apply(session: AsyncSession) -> None:
        event = await service.claim(session, inbound_id=event_id)
        if event is None:
            return
        await runtime.inbound_handlers[event.source](session, event, runtime)
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


async def sweep(ctx: dict[str, Any], *, grace: timedelta = SWEEP_GRACE) -> int:
    """Resubmit every event left unhandled (a restart, a lost job, a failure below the attempt cap)."""
    runtime = ctx["runtime"]
    async with runtime.sessionmaker() as session:
        ids = await service.unhandled_ids(
            session, max_attempts=runtime.settings.job_max_attempts, received_before=clock.now() - grace
        )
    for inbound_id in ids:
        runtime.queue.submit(Job("handle_inbound", (str(inbound_id),)))
    return len(ids)
