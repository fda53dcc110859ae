"""The audit trail: one entry for every mutation, written in the mutation's transaction."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.core.db import JSONType
from app.models.base import created_at, uuid_pk


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"

    id: uuid.UUID = uuid_pk()
    at: datetime = created_at()
    actor: str = Field(sa_type=sa.String(200))
    action: str = Field(sa_type=sa.String(100))
    entity: str = Field(sa_type=sa.String(100))
    entity_id: str = Field(index=True, sa_type=sa.String(100))
    diff: dict[str, Any] | None = Field(default=None, sa_type=JSONType)


def record(
    session: AsyncSession, *, actor: str, action: str, entity: str, entity_id: object, diff: dict[str,
                                                                                                  Any] | None = None
) -> AuditEntry:
    """Add an audit entry to the session; it commits with the change it describes."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), diff=diff)
    session.add(entry)
    return entry
