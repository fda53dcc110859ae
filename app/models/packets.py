import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


class PacketStatus(StrEnum):
    pending = "pending"
    assembling = "assembling"
    complete = "complete"
    partial = "partial"  # assembled with gaps
    failed = "failed"


FINISHED = frozenset({PacketStatus.complete, PacketStatus.partial, PacketStatus.failed})


class EventPacket(SQLModel, table=True):
    """One version of an incident's Event Packet.

    The row is created `pending` in the transaction that asks for it (a resolve, a
    rebuild, a statement); the assembly job fills it once and it never changes after.
    """

    __tablename__ = "event_packets"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "version"),
        sa.Index("ix_event_packets_status", "status"),
    )

    id: uuid.UUID = uuid_pk()
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", ondelete="CASCADE")
    version: int
    status: str = Field(default="pending", sa_type=sa.String(20))
    reason: str = Field(sa_type=sa.String(50))
    requested_at: datetime = created_at()
    assembled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sha256: str | None = Field(default=None, sa_type=sa.String(64))
    content: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class PacketStatement(SQLModel, table=True):
    """A stakeholder's impact statement; every packet version after it includes it."""

    __tablename__ = "packet_statements"

    id: uuid.UUID = uuid_pk()
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", ondelete="CASCADE", index=True)
    author: str = Field(sa_type=sa.String(200))
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = created_at()
