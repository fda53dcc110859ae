"""The registry of jobs, shared by the in-process runner and the arq worker."""

from datetime import timedelta
from typing import Any

from app.inbound.jobs import SWEEP_GRACE, handle_inbound, sweep


def inbound_handlers() -> dict[str, Any]:
    """Which domain applies a stored webhook event, by source."""
    from app.incidents.service import apply_pagerduty_event

    return {"pagerduty": apply_pagerduty_event}


async def sweep_all(ctx: dict[str, Any], *, startup: bool = False) -> None:
    """Resubmit every row a lost job left behind; at start-up, without the grace period."""
    await sweep(ctx, grace=timedelta(0) if startup else SWEEP_GRACE)


JOBS = {job.__name__: job for job in (handle_inbound, sweep_all)}
