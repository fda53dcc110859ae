"""The composition root that main, worker and cli share: builds the Runtime and knows every job.

Here the domains meet: which package applies a stored webhook of each source, who
handles which domain event, and the job registry that the in-process runner and the
arq worker both run.
"""

import asyncio
import functools
from datetime import UTC, datetime, timedelta

import httpx
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.typing import WorkerCoroutine

from app.core.db import create_engine, create_sessionmaker
from app.core.events import EventBus
from app.core.observability import instrumented
from app.core.queue import ArqQueue, InProcessQueue, Job, Queue
from app.core.runtime import JobContext, Runtime, runtime_of
from app.core.schedule import Schedule, repeat
from app.core.settings import Settings, load_settings
from app.core.vendors import JiraClient, PagerDutyReads
from app.inbound import jobs as inbound_jobs
from app.inbound.writer import InboxWriter
from app.incidents.apply import apply_pagerduty_events, incident_of
from app.incidents.events import IncidentResolved, RepeatLinked
from app.incidents.jobs import link_repeats, sweep_relinks
from app.integrations.jira.client import JiraGateway
from app.integrations.pagerduty.client import PagerDutyReader, RetryPolicy, build_client, ssl_context
from app.integrations.pagerduty.ratelimit import RateLimit
from app.notifications import handlers as notifications
from app.notifications.jobs import deliver, digest, escalate, packet_sla, sweep_deliveries
from app.packets import service as packets
from app.packets.events import PacketAssembled
from app.packets.jobs import STALE_AFTER, assemble_packet, sweep_packets
from app.postmortems.events import CloseRefused, PostmortemTransitioned
from app.tickets.jobs import reconcile_jira, sweep_tickets, sync_ticket
from app.tickets.service import apply_jira_event

# Which domain applies stored webhook events, by source: PagerDuty's by incident, Jira's one by one.
APPLIERS: dict[str, inbound_jobs.Applier] = {
    "pagerduty": inbound_jobs.Applier(apply_pagerduty_events, group=incident_of),
    "jira": inbound_jobs.one_at_a_time(apply_jira_event),
}


async def apply_inbox(ctx: JobContext, retry_failed: bool = False, helping: bool = False, *,
                      limit: int | None = None) -> int:
    """Apply stored webhook events in batches with their sources' domains; running twice is harmless."""
    return await inbound_jobs.apply_inbox(ctx, retry_failed, helping, appliers=APPLIERS, limit=limit)


async def sweep_all(ctx: JobContext, *, startup: bool = False) -> None:
    """Resubmit every row a lost job left behind; at start-up, without the grace period."""
    await inbound_jobs.sweep(ctx, grace=timedelta(0) if startup else inbound_jobs.SWEEP_GRACE)
    await sweep_relinks(ctx, grace=timedelta(0) if startup else inbound_jobs.SWEEP_GRACE)
    await sweep_packets(ctx, stale_after=timedelta(0) if startup else STALE_AFTER)
    await sweep_tickets(ctx)
    await sweep_deliveries(ctx)


# Typed as arq's job functions: the same dict is the worker's `functions` (app/worker.py).
JOBS: dict[str, WorkerCoroutine] = {
    job.__name__: instrumented(job)
    for job in (apply_inbox, link_repeats, assemble_packet, sync_ticket, reconcile_jira, sweep_all, deliver,
                escalate, packet_sla, digest)
}


# The scheduled jobs (DESIGN §7), in UTC: arq cron jobs in workers (unique, so one run across all of
# them), the in-process runner without Redis. Each one can run twice without doing anything twice.
SCHEDULE = (
    Schedule("sweep_all"),  # every minute
    Schedule("reconcile_jira", minute=frozenset({0, 15, 30, 45}), second=30),
    Schedule("packet_sla", minute=frozenset({5})),  # hourly
    Schedule("escalate", hour=frozenset({7}), minute=frozenset({0})),  # daily
    Schedule("digest", hour=frozenset({8}), minute=frozenset({0})),  # daily: weekly and monthly digests, patterns
)


def event_bus(settings: Settings) -> EventBus:
    """Who handles which domain event."""
    bus = EventBus()
    bus.subscribe(IncidentResolved, functools.partial(packets.on_incident_resolved,
                                                      sla_hours=settings.packet_sla_hours))
    bus.subscribe(IncidentResolved, notifications.on_incident_resolved)
    bus.subscribe(PacketAssembled, notifications.on_packet_assembled)
    bus.subscribe(PostmortemTransitioned, notifications.on_postmortem_transitioned)
    bus.subscribe(CloseRefused, notifications.on_close_refused)
    bus.subscribe(RepeatLinked, notifications.on_repeat_linked)
    return bus


async def redis_pool(url: str) -> ArqRedis:
    return await create_pool(RedisSettings.from_dsn(url))


async def open_runtime(settings: Settings, *, redis: ArqRedis | None = None) -> Runtime:
    """Build the runtime. With `LOOPGATE_REDIS_URL` jobs go through arq, else they run in-process."""
    engine = create_engine(settings.database_url)
    ctx: dict[str, object] = {}
    if redis is None and settings.redis_url:
        redis = await redis_pool(settings.redis_url)
    queue: Queue = (ArqQueue(redis) if redis is not None
                    else InProcessQueue(JOBS, ctx, concurrency=settings.job_concurrency))
    sessionmaker = create_sessionmaker(engine, queue=queue, events=event_bus(settings))
    inbox = InboxWriter(engine, queue)
    if isinstance(queue, InProcessQueue):
        queue.wait_for_turn = inbox.wait_until_quiet
    runtime = Runtime(settings, engine, sessionmaker, queue, inbox, redis=redis,
                      pagerduty=pagerduty_reader(settings), jira=jira_gateway(settings),
                      subscribers=subscriber_client(settings))
    ctx["runtime"] = runtime
    return runtime


def pagerduty_reader(settings: Settings) -> PagerDutyReads | None:
    """The one PagerDuty REST client, or None without a token (packets then say so in `gaps`)."""
    if settings.pagerduty_api_token is None:
        return None
    client = build_client(api_url=settings.pagerduty_api_url, token=settings.pagerduty_api_token.get_secret_value(),
                          ca_bundle=settings.ca_bundle, timeout=settings.pagerduty_timeout_seconds)
    return PagerDutyReader(client, policy=RetryPolicy(attempts=settings.pagerduty_max_attempts,
                                                      backoff_seconds=settings.pagerduty_backoff_seconds),
                           limit=RateLimit(settings.pagerduty_requests_per_minute))


def jira_gateway(settings: Settings) -> JiraClient | None:
    """The one Jira client, or None when Jira is not configured (tickets then wait as `pending`)."""
    if not settings.jira_url or settings.jira_api_token is None:
        return None
    return JiraGateway(url=settings.jira_url, email=settings.jira_email,
                       token=settings.jira_api_token.get_secret_value(),
                       timeout=settings.jira_timeout_seconds, ca_bundle=settings.ca_bundle)


def subscriber_client(settings: Settings) -> httpx.AsyncClient:
    """The one HTTP client for subscriber deliveries: every call has the timeout; no redirects followed
    (a subscriber's 3xx is not a delivery, and following it could leave the allowed hosts)."""
    return httpx.AsyncClient(timeout=settings.subscription_timeout_seconds, verify=ssl_context(settings.ca_bundle),
                             follow_redirects=False, headers={"user-agent": "Loopgate-Webhooks/1"})


def start_sweeper(runtime: Runtime) -> None:
    """In-process mode: sweep at once (a restart loses nothing), then every interval."""

    async def sweep(first: bool) -> None:
        try:
            await sweep_all(runtime.ctx, startup=first)
        finally:
            runtime.swept.set()

    runtime.background.append(asyncio.get_running_loop().create_task(
        repeat(sweep, interval=runtime.settings.sweep_interval_seconds, what="sweep")))


def start_schedule(runtime: Runtime, schedule: tuple[Schedule, ...] = SCHEDULE) -> None:
    """In-process mode: submit each scheduled job at its times (the sweeper has its own loop).

    The jobs go through the in-process queue, so they are counted and serialised like any other."""

    async def loop(entry: Schedule) -> None:
        while True:
            now = datetime.now(UTC)  # the wall clock, not app.core.clock: this waits for real time to pass
            await asyncio.sleep((entry.next_after(now) - now).total_seconds())
            runtime.queue.submit(Job(entry.job))

    for entry in schedule:
        if entry.job != "sweep_all":
            runtime.background.append(asyncio.get_running_loop().create_task(loop(entry)))


async def worker_startup(ctx: dict[str, object]) -> None:
    """arq on_startup: the worker's runtime enqueues follow-up jobs through the same Redis."""
    settings = ctx.get("settings")
    redis = ctx["redis"]
    assert isinstance(redis, ArqRedis)
    runtime = await open_runtime(settings if isinstance(settings, Settings) else load_settings(), redis=redis)
    runtime.redis = None  # arq owns and closes its connection
    ctx["runtime"] = runtime


async def worker_shutdown(ctx: dict[str, object]) -> None:
    await runtime_of(ctx).close()
