"""Group commit for the inbox: many deliveries, one transaction, each answered only after it commits.

A transaction per request caps ingestion at the database's commit rate; batching
the deliveries that arrive while the previous batch commits keeps the guarantee
(202 means the row is durable) at a fraction of the cost.
"""

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import clock
from app.core.inbox import Delivery
from app.core.queue import Queue
from app.inbound.batch import Row, batch_insert_for
from app.inbound.service import APPLY

MAX_BATCH = 500
# Deliveries come first: in-process jobs wait until none has arrived for this long.
QUIET_AFTER = 0.02


def _settle(future: "asyncio.Future[bool]", *, result: bool | None = None, error: Exception | None = None) -> None:
    if future.done():  # the request went away (client disconnect); the row's fate is the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(bool(result))


class InboxWriter:
    def __init__(self, engine: AsyncEngine, queue: Queue) -> None:
        self._engine = engine
        self._queue = queue
        self._insert = batch_insert_for(engine.dialect)
        self._pending: list[tuple[Delivery, asyncio.Future[bool]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._last_delivery = 0.0
        self._quiet_timer: asyncio.TimerHandle | None = None
        self._in_flight = 0  # deliveries recorded but not yet answered (their batch may be committing)

    async def wait_until_quiet(self) -> None:
        """Return once no delivery is in flight and none arrived for QUIET_AFTER seconds.

        With jobs in the API process, a burst of webhooks is stored first and applied after:
        a 202 needs only the stored row, and applying an event costs ~50 times as much as
        storing it (bench/ingest.py). Nothing is lost by waiting; the rows are durable.
        """
        await self._quiet.wait()

    def busy(self) -> bool:
        """Whether a delivery is in flight or arrived within QUIET_AFTER seconds."""
        return not self._quiet.is_set()

    def _note_delivery(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_delivery = loop.time()
        self._quiet.clear()
        if self._quiet_timer is None:
            self._quiet_timer = loop.call_later(QUIET_AFTER, self._check_quiet)

    def _check_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        remaining = self._last_delivery + QUIET_AFTER - loop.time()
        if remaining > 0 or self._in_flight:
            self._quiet_timer = loop.call_later(max(remaining, QUIET_AFTER / 4), self._check_quiet)
            return
        self._quiet_timer = None
        self._quiet.set()

    async def record(self, delivery: Delivery) -> bool:
        """Store a delivery once; True when it is new, False when it was already stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._note_delivery()
        self._in_flight += 1
        self._pending.append((delivery, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            return await future
        finally:
            self._in_flight -= 1

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    created = await self._write([delivery for delivery, _ in batch])
                except Exception:
                    # One bad row must not fail the others: write each alone; only the culprit fails.
                    for delivery, future in batch:
                        try:
                            [is_new] = await self._write([delivery])
                        except Exception as exc:
                            _settle(future, error=exc)
                        else:
                            _settle(future, result=is_new)
                    continue
                for (_, future), is_new in zip(batch, created, strict=True):
                    _settle(future, result=is_new)

    async def _write(self, deliveries: list[Delivery]) -> list[bool]:
        first: dict[tuple[str, str], int] = {}
        rows: list[Row] = []
        now = clock.now()
        for index, d in enumerate(deliveries):
            key = (d.source, d.external_id)
            if key in first:
                continue
            first[key] = index
            rows.append((uuid.uuid4(), d.source, d.external_id, d.event_type, d.occurred_at, now, d.delivery_id,
                         d.payload))
        async with self._engine.connect() as connection:
            inserted = await self._insert.run(connection, rows)
        # Only after the commit: a job must never see a row that might still roll back. One wake-up
        # for the batch; the apply job takes whatever is unhandled.
        if inserted:
            self._queue.submit(APPLY)
        return [first[key] == i and key in inserted
                for i, key in enumerate((d.source, d.external_id) for d in deliveries)]

    async def close(self) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        self._quiet.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
