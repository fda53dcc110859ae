"""PagerDuty's REST rate limit (960 requests a minute per token), kept on our side.

A sliding window over the last 60 seconds: a request waits until fewer than the limit
were started in the window. Bursts up to the limit are allowed, as PagerDuty allows
them; a 429 that still comes back (another process on the same token) is handled by
the client's retry policy, which waits for `ratelimit-reset`.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

WINDOW_SECONDS = 60.0


class RateLimit:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._started: deque[float] = deque()
        self.waited_seconds = 0.0  # in total, for reports

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        while True:
            now = self._clock()
            while self._started and self._started[0] <= now - WINDOW_SECONDS:
                self._started.popleft()
            if len(self._started) < self.per_minute:
                self._started.append(now)
                return
            wait = self._started[0] + WINDOW_SECONDS - now
            self.waited_seconds += wait
            await self._sleep(wait)
