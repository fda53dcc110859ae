"""Packet jobs: assemble one version; sweep up versions a lost job left behind."""

import dataclasses
import uuid
from datetime import timedelta

from app.core import clock
from app.core.queue import Job
from app.core.runtime import JobContext, runtime_of
from app.packets import assembly, service

# An assembly reads PagerDuty for a while; the sweeper leaves a fresh claim alone this long.
STALE_AFTER = timedelta(minutes=5)


async def assemble_packet(ctx: JobContext, packet_id: str) -> None:
    """Build one packet version; a finished version is left alone, so running twice is harmless."""
    runtime = runtime_of(ctx)
    packet_uuid = uuid.UUID(packet_id)
    async with runtime.sessionmaker() as session:
        packet = await assembly.claim(session, packet_id=packet_uuid)
        if packet is None:
            return
        inputs = await assembly.gather_inputs(session, packet=packet,
                                              lookback_days=runtime.settings.repeat_lookback_days)
        await session.commit()
    try:
        api, gaps = await assembly.fetch_api_facts(runtime.pagerduty, inputs.incident["external_id"])
        inputs = dataclasses.replace(inputs, api=api, gaps=gaps)
        async with runtime.sessionmaker() as session:
            await assembly.finish(session, packet_id=packet_uuid, inputs=inputs)
            await session.commit()
    except Exception as exc:
        async with runtime.sessionmaker() as session:
            await assembly.record_failure(session, packet_id=packet_uuid, error=f"{type(exc).__name__}: {exc}",
                                          max_attempts=runtime.settings.job_max_attempts)
            await session.commit()
        raise


async def sweep_packets(ctx: JobContext, *, stale_after: timedelta = STALE_AFTER) -> int:
    """Resubmit versions still pending or assembling long after they were asked for."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        ids = await service.unfinished(session, requested_before=clock.now() - stale_after)
    for packet_id in ids:
        runtime.queue.submit(Job("assemble_packet", (str(packet_id),)))
    return len(ids)
