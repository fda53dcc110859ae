"""The Runtime: what one process shares (settings, database, queue, inbox, vendor clients).

It is built by the composition root (app/runtime.py) and handed to routes through
`RuntimeDep` and to jobs through their context (`runtime_of`).
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from arq.connections import ArqRedis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.core.inbox import Inbox
from app.core.queue import Queue
from app.core.settings import Settings
from app.core.vendors import JiraClient, PagerDutyReads

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
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # Jobs that gain nothing from running side by side in one process take turns on these, by name.
    turns: dict[str, asyncio.Lock] = field(default_factory=dict)

    def turn(self, name: str) -> asyncio.Lock:
        """This process's lock for one kind of work."""
        return self.turns.setdefault(name, asyncio.Lock())

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
