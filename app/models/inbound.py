import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import PayloadJSON, UTCDateTime
from app.models.base import created_at, uuid_pk


class InboundEvent(SQLModel, table=True):
    """A webhook delivery, stored once per (source, external_id) before anything else happens."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_inbound_events_unhandled", "handled_at", "received_at"),
    )

    id: uuid.UUID = uuid_pk()
    source: str = Field(sa_type=sa.String(20))
    external_id: str = Field(sa_type=sa.String(200))
    event_type: str = Field(sa_type=sa.String(100))
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = created_at()
    delivery_id: str | None = Field(default=None, sa_type=sa.String(200))
    payload: dict[str, Any] = Field(sa_type=PayloadJSON)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=sa.Text)
    attempts: int = Field(default=0)
