"""Group commit for the inbox: many deliveries, one transaction, each answered only after it commits.

A transaction per request caps ingestion at the database's commit rate; batching
the deliveries that arrive while the previous batch commits keeps the guarantee
(202 means the row is durable) at a fraction of the cost.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.db import insert_for
from app.inbound.models import InboundEvent
from app.queue import enqueue_after_commit

MAX_BATCH = 500


@dataclass(frozen=True)
class Delivery:
    source: str
    external_id: str
    event_type: str
    occurred_at: datetime | None
    delivery_id: str | None
    payload: dict[str, Any]


class InboxWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._pending: list[tuple[Delivery, asyncio.Future[bool]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(self, delivery: Delivery) -> bool:
        """Store a delivery once; True when it is new, False when it was already stored."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((delivery, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    created = await self._write([delivery for delivery, _ in batch])
                except Exception as exc:  # every waiting request answers with the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), is_new in zip(batch, created, strict=True):
                    if not future.done():
                        future.set_result(is_new)

    async def _write(self, deliveries: list[Delivery]) -> list[bool]:
        first: dict[tuple[str, str], int] = {}
        rows = []
        now = clock.now()
        for index, d in enumerate(deliveries):
            if (d.source, d.external_id) in first:
                continue
            first[(d.source, d.external_id)] = index
            rows.append({"id": uuid.uuid4(), "source": d.source, "external_id": d.external_id,
                         "event_type": d.event_type, "occurred_at": d.occurred_at, "received_at": now,
                         "delivery_id": d.delivery_id, "payload": d.payload, "attempts": 0})
        async with self._sessionmaker() as session:
            inserted = await session.execute(
                insert_for(session, InboundEvent).values(rows)
                .on_conflict_do_nothing(index_elements=["source", "external_id"])
                .returning(InboundEvent.id, InboundEvent.source, InboundEvent.external_id)
            )
            new = {(source, external_id) for inbound_id, source, external_id in inserted}
            for row in rows:
                if (row["source"], row["external_id"]) in new:
                    enqueue_after_commit(session, "handle_inbound", str(row["id"]))
            await session.commit()
        return [(d.source, d.external_id) in new and first[(d.source, d.external_id)] == i
                for i, d in enumerate(deliveries)]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
