"""Incident jobs: relink the repeats of a fingerprint."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import in_transaction
from app.incidents.service import link_repeats as link


async def link_repeats(ctx: dict[str, Any], fingerprint: str, around: str | None) -> None:
    """Recompute `repeat_of_id` around one trigger time; a pure recomputation, so running twice is harmless."""
    runtime = ctx["runtime"]
    moment = datetime.fromisoformat(around) if around else None

    async def relink(session: AsyncSession) -> None:
        await link(session, fingerprint=fingerprint, around=moment,
                   lookback=timedelta(days=runtime.settings.repeat_lookback_days))
        await session.commit()

    await in_transaction(runtime.sessionmaker, relink)
