"""The registry of jobs, shared by the in-process runner and the arq worker."""

from datetime import timedelta
from typing import Any

from app.inbound.jobs import SWEEP_GRACE, handle_inbound, sweep
from app.incidents.jobs import link_repeats, sweep_relinks
from app.packets.jobs import STALE_AFTER, assemble_packet, sweep_packets
from app.tickets.jobs import reconcile_jira, sweep_tickets, sync_ticket


def inbound_handlers() -> dict[str, Any]:
    """Which domain applies a stored webhook event, by source."""
    from app.incidents.service import apply_pagerduty_event
    from app.tickets.service import apply_jira_event

    return {"pagerduty": apply_pagerduty_event, "jira": apply_jira_event}


async def sweep_all(ctx: dict[str, Any], *, startup: bool = False) -> None:
    """Resubmit every row a lost job left behind; at start-up, without the grace period."""
    await sweep(ctx, grace=timedelta(0) if startup else SWEEP_GRACE)
    await sweep_relinks(ctx, grace=timedelta(0) if startup else SWEEP_GRACE)
    await sweep_packets(ctx, stale_after=timedelta(0) if startup else STALE_AFTER)
    await sweep_tickets(ctx)


JOBS = {job.__name__: job for job in (handle_inbound, link_repeats, assemble_packet, sync_ticket, reconcile_jira,
                                      sweep_all)}
