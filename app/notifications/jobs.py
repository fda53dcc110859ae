"""Notification jobs: deliver one outbox row; sweep up due deliveries; the scheduled follow-through jobs."""

import uuid
from datetime import timedelta

from app.core import clock
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.notifications import delivery, digests, escalation, sla


async def deliver(ctx: JobContext, delivery_id: str) -> None:
    """POST one due delivery and record the outcome; not due, done or taken: nothing happens."""
    runtime = runtime_of(ctx)
    assert runtime.subscribers is not None  # open_runtime always builds it
    # The claim outlives the call: a worker that dies mid-call leaves it due again after this.
    lease = timedelta(seconds=runtime.settings.subscription_timeout_seconds * 3 + 30)
    async with runtime.sessionmaker() as session:
        attempt = await delivery.claim(session, delivery_id=uuid.UUID(delivery_id), lease=lease)
        await session.commit()
    if attempt is None:
        return
    outcome = await delivery.send(runtime.subscribers, attempt)
    async with runtime.sessionmaker() as session:
        retry_in = await delivery.record_outcome(session, delivery_id=attempt.delivery_id, outcome=outcome)
        await session.commit()
    if retry_in is not None:
        runtime.queue.submit(Job("deliver", (delivery_id,), defer_seconds=retry_in))


async def sweep_deliveries(ctx: JobContext) -> int:
    """Resubmit deliveries whose attempt is due (a lost job, a restart, a retry whose wake-up was lost)."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        ids = await delivery.due(session, now=clock.now())
    for delivery_id in ids:
        runtime.queue.submit(Job("deliver", (str(delivery_id),)))
    return len(ids)


async def escalate(ctx: JobContext) -> int:
    """The daily escalation ladder (app/notifications/escalation.py); a second run the same day announces nothing."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        report = await escalation.run(session, now=clock.now())
        await session.commit()
    return len(report.events)


async def packet_sla(ctx: JobContext) -> int:
    """Hourly: packet.sla_breached once per packet not assembled within the SLA."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        announced = await sla.announce_breaches(session, now=clock.now())
        await session.commit()
    return announced


async def digest(ctx: JobContext) -> int:
    """Daily: the last week's and last month's digests and new patterns, each announced once."""
    runtime = runtime_of(ctx)
    now = clock.now()
    async with runtime.sessionmaker() as session:
        announced = int(await digests.announce_weekly(session, now=now))
        announced += await digests.announce_monthly(session, now=now, settings=runtime.settings)
        announced += await digests.announce_patterns(session, now=now, settings=runtime.settings)
        await session.commit()
    return announced
