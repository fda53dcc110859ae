"""The registry of jobs, shared by the in-process runner and the arq worker."""

from datetime import timedelta
from typing import Any

from app.inbound.jobs import SWEEP_GRACE, handle_inbound, sweep
from app.packets.jobs import STALE_AFTER, assemble_packet, sweep_packets


def inbound_handlers() -> dict[str, Any]:
    """Which domain applies a stored webhook event, by source."""
    from app.incidents.service import apply_pagerduty_event

    return {"pagerduty": apply_pagerduty_event}


async def sweep_all(ctx: dict[str, Any], *, startup: bool = False) -> None:
    """Resubmit every row a lost job left behind; at start-up, without the grace period."""
    await sweep(ctx, grace=timedelta(0) if startup else SWEEP_GRACE)
    await sweep_packets(ctx, stale_after=timedelta(0) if startup else STALE_AFTER)


JOBS = {job.__name__: job for job in (handle_inbound, assemble_packet, sweep_all)}
