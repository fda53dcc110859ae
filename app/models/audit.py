"""The audit trail: one entry for every mutation, written in the mutation's transaction."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType, created_at, uuid_pk


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[uuid.UUID] = uuid_pk()
    at: Mapped[datetime] = created_at()
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(100))
    entity: Mapped[str] = mapped_column(sa.String(100))
    entity_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


def record(
    session: AsyncSession, *, actor: str, action: str, entity: str, entity_id: object, diff: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit entry to the session; it commits with the change it describes."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), diff=diff)
    session.add(entry)
    return entry
