import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, PayloadJSON, created_at, uuid_pk


class InboundEvent(Base):
    """A webhook delivery, stored once per (source, external_id) before anything else happens."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_inbound_events_unhandled", "handled_at", "received_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = created_at()
    delivery_id: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(PayloadJSON)
    handled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
