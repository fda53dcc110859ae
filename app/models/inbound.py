import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, PayloadJSON, UTCDateTime
from app.models.base import created_at, uuid_pk


class InboundEvent(SQLModel, table=True):
    """A webhook delivery, stored once per (source, external_id) before anything else happens."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        # The claim's queue: the unhandled rows alone, oldest first (alembic 0009).
        sa.Index("ix_inbound_events_unhandled", "received_at", "id", postgresql_where=sa.text("handled_at IS NULL"),
                 sqlite_where=sa.text("handled_at IS NULL")),
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


class BackfillCheckpoint(SQLModel, table=True):
    """How far an import of history got: the creation time of the last incident whose page was stored whole.

    One row per range asked for (`key`: source, since, until as given, services); a rerun of the same
    command resumes from `position`.
    """

    __tablename__ = "backfill_checkpoints"

    key: str = Field(primary_key=True, sa_type=sa.String(300))
    source: str = Field(sa_type=sa.String(20))
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)
    services: list[str] = Field(default_factory=list, sa_type=JSONType)
    position: datetime | None = Field(default=None, sa_type=UTCDateTime)
    imported: int = Field(default=0)  # incidents this import stored events for
    already_present: int = Field(default=0)  # incidents whose every event was stored before (webhooks, a rerun)
    started_at: datetime = created_at()
    updated_at: datetime = created_at()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
