"""One wiring for the API process and the worker: settings, database, queue, handlers."""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.inbound.writer import InboxWriter
from app.queue import ArqQueue, InProcessQueue, Queue

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: Queue
    inbox: InboxWriter
    redis: Any = None
    pagerduty: Any = None
    jira: Any = None
    inbound_handlers: dict[str, Any] = field(default_factory=dict)
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def ctx(self) -> dict[str, Any]:
        return {"runtime": self}

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.inbox.close()
        await self.queue.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pagerduty is not None:
            self.pagerduty.close()
        if self.jira is not None:
            self.jira.close()
        await self.engine.dispose()


async def redis_pool(url: str) -> Any:
    from arq import create_pool
    from arq.connections import RedisSettings

    return await create_pool(RedisSettings.from_dsn(url))


async def open_runtime(settings: Settings, *, redis: Any = None) -> Runtime:
    """Build the runtime. With `LOOPGATE_REDIS_URL` jobs go through arq, else they run in-process."""
    from app.jobs import JOBS, inbound_handlers

    engine = create_engine(settings.database_url)
    ctx: dict[str, Any] = {}
    if redis is None and settings.redis_url:
        redis = await redis_pool(settings.redis_url)
    queue: Queue = ArqQueue(redis) if redis is not None else InProcessQueue(JOBS, ctx, concurrency=settings.job_concurrency)
    sessionmaker = create_sessionmaker(engine, queue=queue)
    inbox = InboxWriter(engine, queue)
    if isinstance(queue, InProcessQueue):
        queue.wait_for_turn = inbox.wait_until_quiet
    runtime = Runtime(settings, engine, sessionmaker, queue, inbox, redis=redis, inbound_handlers=inbound_handlers())
    runtime.pagerduty = pagerduty_reader(settings)
    runtime.jira = jira_gateway(settings)
    ctx["runtime"] = runtime
    return runtime


def pagerduty_reader(settings: Settings) -> Any:
    """The one PagerDuty REST client, or None without a token (packets then say so in `gaps`)."""
    if settings.pagerduty_api_token is None:
        return None
    from app.integrations.pagerduty.client import PagerDutyReader, RetryPolicy, build_client

    client = build_client(api_url=settings.pagerduty_api_url, token=settings.pagerduty_api_token.get_secret_value(),
                          ca_bundle=settings.ca_bundle, timeout=settings.pagerduty_timeout_seconds)
    return PagerDutyReader(client, policy=RetryPolicy(attempts=settings.pagerduty_max_attempts,
                                                      backoff_seconds=settings.pagerduty_backoff_seconds))


def start_sweeper(runtime: Runtime) -> None:
    """In-process mode: sweep at once (a restart loses nothing), then every interval."""
    from app.jobs import sweep_all

    async def loop() -> None:
        first = True
        while True:
            try:
                await sweep_all(runtime.ctx, startup=first)
            except Exception:
                log.exception("sweep failed; trying again in %ss", runtime.settings.sweep_interval_seconds)
            first = False
            await asyncio.sleep(runtime.settings.sweep_interval_seconds)

    runtime._background.append(asyncio.get_running_loop().create_task(loop()))


async def worker_startup(ctx: dict[str, Any]) -> None:
    """arq on_startup: the worker's runtime enqueues follow-up jobs through the same Redis."""
    from app.config import load_settings

    runtime = await open_runtime(ctx.get("settings") or load_settings(), redis=ctx["redis"])
    runtime.redis = None  # arq owns and closes its connection
    ctx["runtime"] = runtime


async def worker_shutdown(ctx: dict[str, Any]) -> None:
    await ctx["runtime"].close()


def jira_gateway(settings: Settings) -> Any:
    """The one Jira client, or None when Jira is not configured (tickets then wait as `pending`)."""
    if not settings.jira_url or settings.jira_api_token is None:
        return None
    from app.integrations.jira.client import JiraGateway

    return JiraGateway(url=settings.jira_url, email=settings.jira_email, token=settings.jira_api_token.get_secret_value(),
                       timeout=settings.jira_timeout_seconds, ca_bundle=settings.ca_bundle)
