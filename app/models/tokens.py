import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


class Scope(StrEnum):
    read = "read"
    write = "write"
    gates_read = "gates:read"
    admin = "admin"


class ApiToken(SQLModel, table=True):
    """An API token; only the sha256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: uuid.UUID = uuid_pk()
    name: str = Field(sa_type=sa.String(200))
    secret_sha256: str = Field(unique=True, sa_type=sa.String(64))
    scopes: list[str] = Field(sa_type=JSONType)
    created_at: datetime = created_at()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
