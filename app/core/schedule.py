"""Cron schedules, defined once: arq's cron jobs (app/worker.py) and the in-process runner of the
embedded default (app/runtime.py) are both built from the same entries."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    """Run `job` at every moment whose hour, minute and second are in the sets (None: any)."""

    job: str
    hour: frozenset[int] | None = None
    minute: frozenset[int] | None = None
    second: int = 0

    def matches(self, moment: datetime) -> bool:
        return ((self.hour is None or moment.hour in self.hour)
                and (self.minute is None or moment.minute in self.minute) and moment.second == self.second)

    def next_after(self, moment: datetime) -> datetime:
        """The first matching moment strictly after `moment` (whole seconds)."""
        candidate = moment.replace(second=self.second, microsecond=0)
        if candidate <= moment:
            candidate += timedelta(minutes=1)
        for _ in range(2 * 24 * 60):
            if self.matches(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        raise ValueError(f"schedule of {self.job} never matches")


async def repeat(work: Callable[[bool], Awaitable[object]], *, interval: float, what: str,
                 on_failure: Callable[[], None] | None = None) -> None:
    """Run `work(first)` now and then every `interval` seconds until cancelled. A failure is logged
    (and `on_failure` counts it) and tried again at the next interval. A cancellation that a driver
    turned into its own error on the way out still stops the loop, so shutdown never waits on it."""
    this = asyncio.current_task()
    first = True
    while True:
        try:
            await work(first)
        except Exception:
            if this is not None and this.cancelling():
                raise asyncio.CancelledError from None
            if on_failure is not None:
                on_failure()
            log.exception("%s failed; trying again in %ss", what, interval)
        first = False
        await asyncio.sleep(interval)
