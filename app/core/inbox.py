"""The inbox as the webhook routes and the job runner see it (implemented by app/inbound/writer.py)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app.core.db import EncodedJSON


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery, ready to store once per (source, external_id)."""

    source: str
    external_id: str
    event_type: str
    occurred_at: datetime | None
    delivery_id: str | None
    payload: EncodedJSON  # the body as received; it was parsed and checked before


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored delivery as the apply job hands it to its source's domain (a plain copy of the row)."""

    id: uuid.UUID
    source: str
    external_id: str
    event_type: str
    occurred_at: datetime | None
    received_at: datetime
    payload: dict[str, Any]
    attempts: int


class Inbox(Protocol):
    async def record(self, delivery: Delivery) -> bool:
        """Store a delivery once (durably); True when it is new."""
        ...

    async def wait_until_quiet(self) -> None:
        """Return once no delivery is in flight and none arrived for a moment."""
        ...

    def busy(self) -> bool:
        """Whether deliveries are arriving now (jobs in this process then take smaller turns)."""
        ...

    async def close(self) -> None: ...
