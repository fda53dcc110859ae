"""The Runtime: what one process shares (settings, database, queue, inbox, vendor clients).

It is built by the composition root (app/runtime.py) and handed to routes through
`RuntimeDep` and to jobs through their context (`runtime_of`).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.core.inbox import Inbox
from app.core.queue import Queue
from app.core.settings import Settings
from app.core.vendors import JiraClient, PagerDutyReads

# While webhooks arrive in this process, batch jobs take batches this many times smaller, with up
# to this long between them.
BUSY_DIVISOR = 8
BUSY_PAUSE_SECONDS = 0.05

# A job's context: arq's dict, or the in-process runner's; either carries "runtime".
JobContext = Mapping[str, object]


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: Queue
    inbox: Inbox
    redis: ArqRedis | None = None
    pagerduty: PagerDutyReads | None = None
    jira: JiraClient | None = None
    # The one HTTP client for subscriber deliveries (app/notifications), with its timeout.
    subscribers: httpx.AsyncClient | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # Set once the in-process sweeper's start-up sweep has run (or failed): what a restart left behind
    # has been resubmitted.
    swept: asyncio.Event = field(default_factory=asyncio.Event)
    # Jobs that gain nothing from running side by side in one process take turns on these, by name.
    turns: dict[str, asyncio.Lock] = field(default_factory=dict)

    def turn(self, name: str) -> asyncio.Lock:
        """This process's lock for one kind of work."""
        return self.turns.setdefault(name, asyncio.Lock())

    def batch_size(self, full: int) -> int:
        """How much a batch job takes now: `full`, or a small share while webhooks arrive in this
        process (jobs in-process), so that their group commits never wait long for SQLite's write
        lock or for the event loop."""
        return max(1, full // BUSY_DIVISOR) if self.inbox.busy() else full

    async def give_way(self) -> None:
        """Between two batches: while webhooks arrive, wait a little for a quiet moment (never
        longer, so that a steady stream of them does not starve the jobs)."""
        if not self.inbox.busy():
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.inbox.wait_until_quiet(), BUSY_PAUSE_SECONDS)

    @property
    def ctx(self) -> dict[str, object]:
        return {"runtime": self}

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.inbox.close()
        await self.queue.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pagerduty is not None:
            self.pagerduty.close()
        if self.jira is not None:
            self.jira.close()
        if self.subscribers is not None:
            await self.subscribers.aclose()
        await self.engine.dispose()


def _checked(runtime: object) -> Runtime:
    if not isinstance(runtime, Runtime):
        raise TypeError(f"expected the Runtime, got {type(runtime).__name__}")
    return runtime


def runtime_of(ctx: JobContext) -> Runtime:
    """The Runtime a job runs with."""
    return _checked(ctx["runtime"])


def app_runtime(app: Starlette) -> Runtime:
    """The Runtime the application's lifespan opened."""
    return _checked(app.state.runtime)


def _runtime(request: Request) -> Runtime:
    return app_runtime(request.app)


def _settings(request: Request) -> Settings:
    return app_runtime(request.app).settings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits, anything uncommitted is rolled back."""
    async with app_runtime(request.app).sessionmaker() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
SessionDep = Annotated[AsyncSession, Depends(_session)]
SettingsDep = Annotated[Settings, Depends(_settings)]
