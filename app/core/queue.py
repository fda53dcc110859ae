"""Jobs: enqueued only after the transaction commits; run in-process or through arq.

The database is the source of truth and the queue only a wake-up call: a job
that is lost (a crash, Redis down) leaves its row unhandled, and the sweeper
submits it again.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from arq.connections import ArqRedis
from arq.constants import default_queue_name
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]

ENQUEUE_FAILURES = Counter("loopgate_enqueue_failures", "Jobs that could not be handed to Redis", ["job"])


@dataclass(frozen=True)
class Job:
    name: str
    args: tuple[Any, ...] = ()
    # Run no sooner than this many seconds from now (a retry's back-off); 0: as soon as possible.
    defer_seconds: float = 0.0


class Queue(Protocol):
    def submit(self, job: Job) -> None: ...

    def offer(self, job: Job, *, every: float) -> None:
        """Submit `job` for another worker process to take up, at most once per `every` seconds
        across processes (per job name and arguments)."""

    async def drain(self) -> None: ...

    async def depth(self) -> int: ...

    async def close(self) -> None: ...


def enqueue_after_commit(session: AsyncSession, name: str, *args: Any) -> None:
    """Queue a job that is sent only if, and after, this session's transaction commits."""
    session.info.setdefault("pending_jobs", []).append(Job(name, args))


@event.listens_for(Session, "after_commit")
def _send_pending_jobs(session: Session) -> None:
    jobs = session.info.pop("pending_jobs", None)
    queue: Queue | None = session.info.get("queue")
    if jobs and queue is not None:
        for job in jobs:
            queue.submit(job)


@event.listens_for(Session, "after_rollback")
def _drop_pending_jobs(session: Session) -> None:
    session.info.pop("pending_jobs", None)


class InProcessQueue:
    """Runs jobs as tasks of this process (the embedded default, no Redis).

    Submitted jobs wait in a FIFO; one dispatcher starts them, at most `concurrency` at a
    time, and only when `wait_for_turn` lets it (incoming webhooks go first). A job that is
    submitted again while it runs runs once more afterwards: its row may have changed.
    """

    def __init__(self, jobs: Mapping[str, JobFunction], ctx: dict[str, Any], *, concurrency: int,
                 wait_for_turn: Callable[[], Awaitable[None]] | None = None) -> None:
        self._jobs = jobs
        self.wait_for_turn = wait_for_turn
        self._ctx = ctx
        self._concurrency = concurrency
        self._waiting: dict[Job, None] = {}  # insertion-ordered set
        self._running: set[Job] = set()
        self._again: set[Job] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._closed = False

    def submit(self, job: Job) -> None:
        if job.name not in self._jobs:
            raise LookupError(f"unknown job {job.name!r}")
        if self._closed:
            # Shutting down: a job finishing now (its follow-ups) must not start another on an engine
            # that is being disposed; the rows are durable and the next start's sweeper has them.
            return
        if job.defer_seconds > 0:
            # Not counted as waiting (drain does not wait for a back-off); lost on close, like any
            # waiting job, and then picked up by the sweeper from its row.
            self._defer(dataclasses.replace(job, defer_seconds=0.0), job.defer_seconds)
            return
        if job in self._running:
            self._again.add(job)
        else:
            self._waiting[job] = None
        self._idle.clear()
        self._wakeup.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    def _defer(self, job: Job, delay: float) -> None:
        def fire() -> None:
            self._timers.discard(timer)
            self.submit(job)

        timer = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(timer)

    async def _dispatch(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiting and len(self._running) < self._concurrency:
                if self.wait_for_turn is not None:
                    await self.wait_for_turn()
                job = next(iter(self._waiting))
                del self._waiting[job]
                self._running.add(job)
                task = asyncio.get_running_loop().create_task(self._run(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job) -> None:
        try:
            await self._jobs[job.name](self._ctx, *job.args)
        except Exception:  # counted by observability.instrumented; the row keeps what went wrong
            log.exception("job %s%r raised; the sweeper will retry its row", job.name, job.args)
        finally:
            self._running.discard(job)
            if job in self._again:
                self._again.discard(job)
                self._waiting[job] = None
            if not self._waiting and not self._running:
                self._idle.set()
            self._wakeup.set()

    def offer(self, job: Job, *, every: float) -> None:
        """Nothing: this process is the only one that runs jobs."""

    async def drain(self) -> None:
        """Wait until no job is waiting or running (tests, shutdown)."""
        await self._idle.wait()

    async def depth(self) -> int:
        """Jobs waiting or running."""
        return len(self._waiting) + len(self._running) + len(self._again)

    async def close(self) -> None:
        """Stop starting jobs and let the running ones finish; waiting ones are left to the
        sweeper of the next start (their rows are durable)."""
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


class ArqQueue:
    """Hands jobs to arq workers through Redis."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, job: Job) -> None:
        self._spawn(self._send(job))

    def offer(self, job: Job, *, every: float) -> None:
        """The first offer of an interval, across processes, enqueues the job (a key in Redis that
        expires with the interval says one was made); workers that are idle poll for it."""
        self._spawn(self._send(job, limit=(f"loopgate:offer:{job.name}{job.args}", every)))

    def _spawn(self, sending: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(sending)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, job: Job, limit: tuple[str, float] | None = None) -> None:
        try:
            if limit is not None:
                key, every = limit
                if not await self._redis.set(key, b"1", nx=True, px=max(1, round(every * 1000))):
                    return
            await self._redis.enqueue_job(job.name, *job.args, _defer_by=job.defer_seconds or None)
        except Exception:
            ENQUEUE_FAILURES.labels(job.name).inc()
            log.exception("could not enqueue %s%r; the sweeper will resubmit its row", job.name, job.args)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def depth(self) -> int:
        """Jobs queued in Redis for the workers (arq's queue is a sorted set), and those on their way."""
        return int(await self._redis.zcard(default_queue_name)) + len(self._tasks)

    async def close(self) -> None:
        await self.drain()
