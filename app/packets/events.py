"""What happens to packets that higher packages act on (app/core/events.py)."""

import uuid
from dataclasses import dataclass

from app.core.events import DomainEvent


@dataclass(frozen=True)
class PacketAssembled(DomainEvent):
    """A packet version was stored, complete or partial (with gaps); published once per version."""

    packet_id: uuid.UUID
    incident_id: uuid.UUID
    version: int
    status: str
