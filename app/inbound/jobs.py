"""Jobs of the inbox: apply stored events in batches; sweep up what lost jobs left behind.

One job, `apply_inbox`, applies every stored event, whoever stored it (the webhooks, the
sweeper, a backfill): it claims up to a batch of unhandled rows, hands each source's rows to
that source's domain in one transaction, marks them handled in one statement and commits once.
A failing row is isolated: the batch is applied again with each group of rows (an incident's
events, a Jira delivery) in its own savepoint, then each row of a failing group alone, so the
rest lands and the culprit keeps its error and attempt count. Workers share a backlog without
waiting for each other: a batch leaves the rows about an incident that another worker is applying
right now to a later batch (unhandled, their attempt uncounted).
"""

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import in_transaction
from app.core.inbox import StoredEvent
from app.core.queue import Job
from app.core.runtime import JobContext, Runtime, runtime_of
from app.core.settings import Settings
from app.inbound import service

log = logging.getLogger(__name__)

# A fresh row's own job is probably still on its way; the sweeper leaves it alone this long.
SWEEP_GRACE = timedelta(seconds=30)
# A job hands over to a fresh one after this long (arq's job timeout; other jobs get a turn).
TIME_BUDGET_SECONDS = 60.0
# At most this many apply jobs submitted by one sweep (arq workers then share a backlog).
SWEEP_JOBS = 8
# While a backlog lasts, a helping apply job is offered to idle workers at most this often
# (`loopgate worker` polls Redis every 0.1 s: app/worker.py).
OFFER_SECONDS = 0.5
# A batch whose every row was left to another worker waits this long before claiming again.
DEFERRED_PAUSE_SECONDS = 0.02

# How a domain applies a batch of its source's stored events, in the job's transaction; the ids of
# the rows it left for a later batch (another worker holds what they are about; they stay unhandled).
ApplyBatch = Callable[[AsyncSession, Sequence[StoredEvent], Settings], Awaitable[Collection[uuid.UUID]]]
# How a domain applies one stored event (the older, per-row form).
Apply = Callable[[AsyncSession, StoredEvent, Settings], Awaitable[None]]


@dataclass(frozen=True)
class Applier:
    """A source's domain: applies a batch; `group` names the rows that must land together (or not at all)."""

    apply: ApplyBatch
    group: Callable[[StoredEvent], str]


def one_at_a_time(apply: Apply) -> Applier:
    """An applier for a source whose events are independent: applied in order, each its own group."""

    async def apply_all(session: AsyncSession, events: Sequence[StoredEvent], settings: Settings) -> list[uuid.UUID]:
        for event in events:
            await apply(session, event, settings)
        return []

    return Applier(apply_all, lambda event: str(event.id))


@dataclass
class _Outcome:
    """What became of a batch's rows that did not land: failed (and why), or left for a later batch."""

    failures: dict[uuid.UUID, str] = field(default_factory=dict)
    deferred: set[uuid.UUID] = field(default_factory=set)


async def _apply_rows(session: AsyncSession, events: list[StoredEvent], appliers: Mapping[str, Applier],
                      settings: Settings, *, careful: bool) -> _Outcome:
    """Apply the rows by source; the rows deferred and, in the careful pass, those that failed and why."""
    outcome = _Outcome()
    failures = outcome.failures
    by_source: dict[str, list[StoredEvent]] = {}
    for event in events:
        by_source.setdefault(event.source, []).append(event)
    for source, rows in by_source.items():
        applier = appliers[source]
        if not careful:
            outcome.deferred.update(await applier.apply(session, rows, settings))
            continue
        groups: dict[str, list[StoredEvent]] = {}
        for row in rows:
            try:
                key = applier.group(row)
            except Exception as exc:  # an unreadable row: its error is recorded on it below
                failures[row.id] = _describe(exc)
                continue
            groups.setdefault(key, []).append(row)
        for group in groups.values():
            if await _in_savepoint(session, applier, group, settings, outcome.deferred) is None:
                continue
            for row in group:  # the group failed: find the culprit(s); the others land
                error = await _in_savepoint(session, applier, [row], settings, outcome.deferred)
                if error is not None:
                    failures[row.id] = error
    return outcome


async def _in_savepoint(session: AsyncSession, applier: Applier, rows: list[StoredEvent], settings: Settings,
                        deferred: set[uuid.UUID]) -> str | None:
    """Apply `rows` in a savepoint (adding the rows it deferred to `deferred`); the error, rolled back,
    if they failed."""
    savepoint = await session.begin_nested()
    try:
        left = await applier.apply(session, rows, settings)
    except Exception as exc:
        await savepoint.rollback()
        return _describe(exc)
    await savepoint.commit()
    deferred.update(left)
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Batch(NamedTuple):
    claimed: int  # rows claimed (0: nothing left to claim)
    deferred: int = 0  # of which left unhandled for a later batch (another worker held their incident)


async def apply_batch(runtime: Runtime, *, appliers: Mapping[str, Applier], limit: int,
                      retry_failed: bool = False) -> Batch:
    """Claim, apply and commit one batch."""
    settings = runtime.settings
    claimed: list[uuid.UUID] = []

    def attempt(careful: bool) -> Callable[[AsyncSession], Awaitable[Batch]]:
        async def work(session: AsyncSession) -> Batch:
            events = await service.claim_batch(session, limit=limit, max_attempts=settings.job_max_attempts,
                                               retry_failed=retry_failed)
            claimed[:] = [event.id for event in events]
            if not events:
                return Batch(0)
            outcome = await _apply_rows(session, events, appliers, settings, careful=careful)
            await service.mark_handled(session, ids=[event.id for event in events
                                                     if event.id not in outcome.failures
                                                     and event.id not in outcome.deferred])
            await service.release(session, ids=sorted(outcome.deferred))
            for inbound_id, error in outcome.failures.items():
                await service.record_failure(session, inbound_id=inbound_id, error=error)
                log.warning("inbound event %s failed: %s", inbound_id, error)
            await session.commit()
            return Batch(len(events), len(outcome.deferred))

        return work

    try:
        return await in_transaction(runtime.sessionmaker, attempt(careful=False))
    except Exception as exc:
        log.info("a batch of %d inbound events failed (%s); applying it again group by group",
                 len(claimed), _describe(exc))
    try:
        return await in_transaction(runtime.sessionmaker, attempt(careful=True))
    except Exception as exc:
        # Not a row's fault (the claim, the marking, the commit): count the attempt on the rows it
        # held, so that a batch that can never land still runs into the attempt cap.
        error = _describe(exc)
        async with runtime.sessionmaker() as session:
            for inbound_id in claimed:
                await service.record_failure(session, inbound_id=inbound_id, error=error, count=True)
            await session.commit()
        raise


async def apply_inbox(ctx: JobContext, retry_failed: bool = False, helping: bool = False, *,
                      appliers: Mapping[str, Applier], limit: int | None = None) -> int:
    """Apply stored events, a batch per transaction, until none is left (or the time budget is spent,
    when a fresh job takes over). Handled rows are never claimed again, so running twice is harmless.
    The number of rows claimed.

    While a backlog lasts, the job offers a `helping` one to other worker processes (at most one
    per OFFER_SECONDS, across them): an idle worker takes it and shares the backlog; one that is
    applying already has nothing to add and lets it go at once.
    """
    runtime = runtime_of(ctx)
    if helping and runtime.turn(service.APPLY_INBOX).locked():
        return 0
    full = limit or runtime.settings.apply_batch_size
    started = time.monotonic()
    total = 0
    while True:
        # While webhooks arrive in this process (jobs in-process), they come first: small batches,
        # so that a group commit never waits long for SQLite's write lock or the event loop, and a
        # pause between them; apply still gets a turn, so a steady stream never starves it.
        size = runtime.batch_size(full)
        # One batch at a time per process: batches side by side in one process would only contend
        # for its one core and for the same incidents; other processes (workers) share the backlog.
        async with runtime.turn(service.APPLY_INBOX):
            batch = await apply_batch(runtime, appliers=appliers, limit=size, retry_failed=retry_failed)
        total += batch.claimed - batch.deferred
        if batch.claimed < size and not batch.deferred:
            return total
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            runtime.queue.submit(Job(service.APPLY_INBOX, (retry_failed,) if retry_failed else ()))
            return total
        runtime.queue.offer(Job(service.APPLY_INBOX, (retry_failed, True)), every=OFFER_SECONDS)
        if batch.deferred == batch.claimed:
            # Everything claimed is another worker's right now: let it commit before claiming again.
            await asyncio.sleep(DEFERRED_PAUSE_SECONDS)
        await runtime.give_way()


async def sweep(ctx: JobContext, *, grace: timedelta = SWEEP_GRACE) -> int:
    """Wake the apply job when events are left unhandled (a restart, a lost job, a failure below the
    attempt cap): one job per batch of backlog, up to SWEEP_JOBS, so that several workers share it."""
    runtime = runtime_of(ctx)
    async with runtime.sessionmaker() as session:
        left = await service.unhandled_count(session, max_attempts=runtime.settings.job_max_attempts,
                                             received_before=clock.now() - grace)
    jobs = min(SWEEP_JOBS, math.ceil(left / runtime.settings.apply_batch_size))
    for _ in range(jobs):
        runtime.queue.submit(Job(service.APPLY_INBOX, (True,)))
    return left
