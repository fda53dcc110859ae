"""Import PagerDuty history through the webhook path: REST pages → inbox rows → the same apply job.

Incidents are listed oldest first (`sort_by=created_at:asc`) in windows of at most
`MAX_WINDOW` (PagerDuty refuses wider `since`/`until` ranges); each incident's log entries
become the v3 events its webhooks would have sent (app/integrations/pagerduty/history.py),
stored with the inbox writer that stores webhooks, which hands each new row to
`apply_inbox`. Nothing here writes an incident.

After every page whose events are all stored, the checkpoint moves to the creation time of
the page's last incident, in its own transaction: an interrupted import, run again, lists
from there. Incidents at that very instant are listed again and dedupe in the inbox (their
event ids derive from log entry ids), as do events a webhook already delivered.
"""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core import clock
from app.core.inbox import Delivery, Inbox
from app.core.progress import Tracker
from app.core.vendors import PagerDutyReads
from app.inbound.receive import storable_json
from app.integrations.pagerduty.client import FetchError
from app.integrations.pagerduty.history import HistoricalEvent, incident_events
from app.models.inbound import BackfillCheckpoint

MAX_WINDOW = timedelta(days=179)  # PagerDuty: since/until at most 6 months apart
ITERATION_LIMIT = 10_000  # PagerDuty: offset + limit at most 10,000; past it, list again from the checkpoint
PAGE_SIZE = 100
LOG_FETCHES_AT_ONCE = 8


class BackfillStopped(Exception):
    """PagerDuty did not answer after the client's last try; the checkpoint holds what was stored."""


@dataclass(frozen=True)
class BackfillRange:
    since: datetime
    until: datetime | None  # None: up to now (fixed at the first run, kept in the checkpoint)
    services: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        until = self.until.isoformat() if self.until else "now"
        return f"pagerduty|{self.since.isoformat()}|{until}|{','.join(sorted(self.services)) or '*'}"


@dataclass
class BackfillReport:
    imported: int = 0  # incidents with at least one event new to the inbox, this run
    already_present: int = 0  # incidents whose events were all stored before
    events: int = 0  # new inbox rows
    resumed_from: datetime | None = None
    finished: bool = False
    already_finished: bool = False
    checkpoint: BackfillCheckpoint | None = field(default=None, repr=False)


async def open_checkpoint(session: AsyncSession, *, window: BackfillRange, restart: bool) -> BackfillCheckpoint:
    """The range's checkpoint, created at the first run (with `until` fixed), or reset by `restart`."""
    checkpoint = await session.get(BackfillCheckpoint, window.key)
    now = clock.now()
    if checkpoint is None:
        checkpoint = BackfillCheckpoint(key=window.key, source="pagerduty", since=window.since,
                                        until=window.until or now, services=sorted(window.services))
        session.add(checkpoint)
    elif restart:
        checkpoint.position, checkpoint.finished_at = None, None
        checkpoint.imported = checkpoint.already_present = 0
        checkpoint.started_at = checkpoint.updated_at = now
    return checkpoint


async def advance_checkpoint(session: AsyncSession, *, key: str, position: datetime, imported: int,
                             already_present: int) -> None:
    """Move the checkpoint past a stored page."""
    await session.execute(sa.update(BackfillCheckpoint).where(col(BackfillCheckpoint.key) == key).values(
        position=position, imported=col(BackfillCheckpoint.imported) + imported,
        already_present=col(BackfillCheckpoint.already_present) + already_present, updated_at=clock.now()))


async def finish_checkpoint(session: AsyncSession, *, key: str) -> None:
    await session.execute(sa.update(BackfillCheckpoint).where(col(BackfillCheckpoint.key) == key).values(
        finished_at=clock.now(), updated_at=clock.now()))


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into spans PagerDuty accepts."""
    spans = []
    while start < end:
        spans.append((start, min(start + MAX_WINDOW, end)))
        start = spans[-1][1]
    return spans


class PagerDutyBackfill:
    """One run of `loopgate backfill pagerduty` (it owns its transactions, like a job)."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], inbox: Inbox, reader: PagerDutyReads,
                 tracker: Tracker) -> None:
        self._sessionmaker = sessionmaker
        self._inbox = inbox
        self._reader = reader
        self._tracker = tracker
        self._log_fetches = asyncio.Semaphore(LOG_FETCHES_AT_ONCE)

    async def run(self, window: BackfillRange, *, restart: bool = False) -> BackfillReport:
        """Import the range from its checkpoint on; raises BackfillStopped when PagerDuty stops answering."""
        async with self._sessionmaker() as session:
            checkpoint = await open_checkpoint(session, window=window, restart=restart)
            await session.commit()
        report = BackfillReport(resumed_from=checkpoint.position, checkpoint=checkpoint)
        if checkpoint.finished_at is not None:
            report.finished = report.already_finished = True
            return report
        spans = windows(checkpoint.position or checkpoint.since, checkpoint.until)
        params = {"service_ids[]": list(checkpoint.services)} if checkpoint.services else {}
        done_before = checkpoint.imported + checkpoint.already_present
        remaining = 0
        for since, until in spans:
            remaining += await self._count(since, until, params)
        self._tracker.set_total(done_before + remaining)
        self._tracker.advance(done_before)
        for since, until in spans:
            await self._import_span(checkpoint.key, since, until, params, report)
        async with self._sessionmaker() as session:
            await finish_checkpoint(session, key=checkpoint.key)
            await session.commit()
        report.finished = True
        return report

    async def _count(self, since: datetime, until: datetime, params: dict[str, list[str]]) -> int:
        try:
            _, _, total = await self._reader.list_page("/incidents", "incidents", {
                **params, **_range(since, until), "total": "true"}, offset=0)
        except FetchError as exc:
            raise BackfillStopped(f"listing incidents: {exc}") from None
        return total or 0

    async def _import_span(self, key: str, since: datetime, until: datetime, params: dict[str, list[str]],
                           report: BackfillReport) -> None:
        offset, start = 0, since
        while True:
            try:
                incidents, more, _ = await self._reader.list_page("/incidents", "incidents", {
                    **params, **_range(start, until), "sort_by": "created_at:asc"}, offset=offset)
            except FetchError as exc:
                raise BackfillStopped(f"listing incidents from {start.isoformat()} (offset {offset}): {exc}") from None
            if not incidents:
                return
            imported, present = await self._store_page(incidents, report)
            position = max(_created(i) for i in incidents)
            async with self._sessionmaker() as session:
                await advance_checkpoint(session, key=key, position=position, imported=imported,
                                         already_present=present)
                await session.commit()
            self._tracker.advance(len(incidents))
            if not more:
                return
            offset += len(incidents)
            if offset + PAGE_SIZE > ITERATION_LIMIT:
                offset, start = 0, position

    async def _store_page(self, incidents: list[dict[str, object]], report: BackfillReport) -> tuple[int, int]:
        histories = await asyncio.gather(*(self._history(incident) for incident in incidents))
        imported = present = 0
        for events in histories:
            stored = await asyncio.gather(*(self._inbox.record(_delivery(event)) for event in events))
            new = sum(stored)
            report.events += new
            if new:
                imported += 1
            else:
                present += 1
        report.imported += imported
        report.already_present += present
        return imported, present

    async def _history(self, incident: dict[str, object]) -> list[HistoricalEvent]:
        async with self._log_fetches:
            entries, stopped = await self._reader.pages(f"/incidents/{incident['id']}/log_entries", "log_entries",
                                                        {"is_overview": "true", "time_zone": "UTC"})
        if stopped:
            raise BackfillStopped(f"log entries of incident {incident['id']}: {stopped}")
        return incident_events(incident, entries)


def _range(since: datetime, until: datetime) -> dict[str, str]:
    return {"since": since.isoformat(), "until": until.isoformat(), "time_zone": "UTC"}


def _created(incident: dict[str, object]) -> datetime:
    created = incident.get("created_at")
    if not isinstance(created, str):
        raise BackfillStopped(f"incident {incident.get('id')} has no created_at")
    return datetime.fromisoformat(created)


def _delivery(event: HistoricalEvent) -> Delivery:
    return Delivery(source="pagerduty", external_id=event.external_id, event_type=event.event_type,
                    occurred_at=event.occurred_at, delivery_id="backfill",
                    payload=storable_json(event.body, json.loads(event.body)))
