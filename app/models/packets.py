import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType, created_at, uuid_pk


class PacketStatus(StrEnum):
    pending = "pending"
    assembling = "assembling"
    complete = "complete"
    partial = "partial"  # assembled with gaps
    failed = "failed"


FINISHED = frozenset({PacketStatus.complete, PacketStatus.partial, PacketStatus.failed})


class EventPacket(Base):
    """One version of an incident's Event Packet.

    The row is created `pending` in the transaction that asks for it (a resolve, a
    rebuild, a statement); the assembly job fills it once and it never changes after.
    """

    __tablename__ = "event_packets"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "version"),
        sa.Index("ix_event_packets_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    reason: Mapped[str] = mapped_column(sa.String(50))
    requested_at: Mapped[datetime] = created_at()
    assembled_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class PacketStatement(Base):
    """A stakeholder's impact statement; every packet version after it includes it."""

    __tablename__ = "packet_statements"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at()
