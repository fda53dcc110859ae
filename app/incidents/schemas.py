import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Reference(BaseModel):
    id: str
    name: str | None = None


class IncidentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source: str
    external_id: str
    number: int | None
    title: str
    service_id: str | None
    service_name: str | None
    teams: list[Reference]
    assignees: list[Reference]
    urgency: str | None
    priority: str | None
    severity: str | None
    status: str
    triggered_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reopened_count: int
    incident_key: str | None
    fingerprint: str | None
    repeat_of_id: uuid.UUID | None
    merged_into_external_id: str | None
    reported_by: Literal["human", "automation"] | None
    html_url: str | None
    last_event_at: datetime | None


class IncidentList(BaseModel):
    items: list[IncidentPublic]
    next_cursor: str | None
