import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class PacketFormat(StrEnum):
    json = "json"
    mermaid = "mermaid"


class VersionSummary(BaseModel):
    version: int
    status: str
    assembled_at: datetime | None


class PacketPublic(BaseModel):
    incident_id: uuid.UUID
    version: int
    status: str
    reason: str
    assembled_at: datetime | None
    sla_due_at: datetime | None
    sha256: str | None
    # Content is served exactly as stored, so `sha256` can be checked by the client
    # over the canonical JSON (sorted keys, no spaces) of these eight keys.
    timeline: list[dict[str, Any]] = Field(description="[{at, type, summary, actor, source, id, channel}]")
    alerts: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    responders: list[dict[str, Any]]
    decision_points: list[dict[str, Any]]
    impact: dict[str, Any]
    similar_incidents: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    last_error: str | None
    versions: list[VersionSummary]


class PacketRequested(BaseModel):
    incident_id: uuid.UUID
    version: int
    status: str


class StatementCreate(BaseModel):
    author: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20000)
