"""Incident jobs: relink the repeats of a fingerprint."""

from datetime import datetime, timedelta
from typing import Any

from app.db import is_retryable
from app.incidents.service import link_repeats as link

CONFLICT_RETRIES = 3


async def link_repeats(ctx: dict[str, Any], fingerprint: str, around: str | None) -> None:
    """Recompute `repeat_of_id` around one trigger time; a pure recomputation, so running twice is harmless."""
    runtime = ctx["runtime"]
    moment = datetime.fromisoformat(around) if around else None
    for attempt in range(CONFLICT_RETRIES + 1):
        async with runtime.sessionmaker() as session:
            try:
                await link(session, fingerprint=fingerprint, around=moment,
                           lookback=timedelta(days=runtime.settings.repeat_lookback_days))
                await session.commit()
                return
            except Exception as exc:
                if not is_retryable(exc) or attempt == CONFLICT_RETRIES:
                    raise
