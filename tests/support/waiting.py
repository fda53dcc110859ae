"""Bounded waits on a condition, instead of sleeping for a guessed time.

`eventually` is for work on the test's own event loop (background tasks, the in-process
queue): between checks it drains the queue if given one and yields to the loop, never
sleeping for a fixed time. `wait_until` is for work in another thread (a real server).
Both fail with `what` once `timeout` seconds have passed without the condition holding.
"""

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable


async def eventually(condition: Callable[[], bool | Awaitable[bool]], *, what: str, queue=None,
                     timeout: float = 10.0) -> None:
    """Until `condition()` (sync or async) is true: drain `queue` (if given) and yield to the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        if queue is not None:
            await queue.drain()
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0)  # let the background task run; not a wait for time to pass


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
    """Until `condition()` is true, checked as soon as another thread may have changed it."""
    deadline = time.monotonic() + timeout
    idle = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        idle.wait(0.005)  # give the other thread the GIL
