import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


class Incident(SQLModel, table=True):
    """An incident as PagerDuty reported it, folded from its events in `occurred_at` order."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_incidents_fingerprint_triggered", "fingerprint", "triggered_at"),
        sa.Index("ix_incidents_triggered_id", "triggered_at", "id"),
    )

    id: uuid.UUID = uuid_pk()
    source: str = Field(default="pagerduty", sa_type=sa.String(20))
    external_id: str = Field(sa_type=sa.String(100))
    number: int | None = Field(default=None)
    title: str = Field(default="", sa_type=sa.Text)
    service_id: str | None = Field(default=None, index=True, sa_type=sa.String(100))
    service_name: str | None = Field(default=None, index=True, sa_type=sa.String(300))
    teams: list[Any] = Field(default_factory=list, sa_type=JSONType)
    assignees: list[Any] = Field(default_factory=list, sa_type=JSONType)
    urgency: str | None = Field(default=None, sa_type=sa.String(20))
    priority: str | None = Field(default=None, sa_type=sa.String(50))
    severity: str | None = Field(default=None, index=True, sa_type=sa.String(20))
    status: str = Field(default="triggered", index=True, sa_type=sa.String(20))
    triggered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_count: int = Field(default=0)
    incident_key: str | None = Field(default=None, sa_type=sa.Text)
    fingerprint: str | None = Field(default=None, sa_type=sa.String(500))
    repeat_of_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id", ondelete="SET NULL")
    merged_into_external_id: str | None = Field(default=None, sa_type=sa.String(100))
    reported_by: str | None = Field(default=None, sa_type=sa.String(20))
    html_url: str | None = Field(default=None, sa_type=sa.Text)
    last_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at()


class IncidentTeam(SQLModel, table=True):
    """Which teams an incident belongs to, for filtering by team id or name."""

    __tablename__ = "incident_teams"

    incident_id: uuid.UUID = Field(foreign_key="incidents.id", ondelete="CASCADE", primary_key=True)
    team_id: str = Field(primary_key=True, sa_type=sa.String(100))
    team_name: str | None = Field(default=None, index=True, sa_type=sa.String(300))


class IncidentEvent(SQLModel, table=True):
    """One PagerDuty event applied to an incident; the history the incident is folded from."""

    __tablename__ = "incident_events"
    __table_args__ = (sa.Index("ix_incident_events_incident_occurred", "incident_id", "occurred_at"),)

    id: uuid.UUID = uuid_pk()
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", ondelete="CASCADE")
    event_id: str = Field(unique=True, sa_type=sa.String(100))
    event_type: str = Field(sa_type=sa.String(100))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    agent: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    data: dict[str, Any] = Field(sa_type=JSONType)


class RepeatRelink(SQLModel, table=True):
    """Repeats to recompute: a fingerprint around a trigger time.

    Written in the transaction that changed an incident's fingerprint or trigger time;
    deleted by the `link_repeats` job that recomputed them (unless requested again
    meanwhile, which changes `token`); resubmitted by the sweeper when that job was lost.
    """

    __tablename__ = "repeat_relinks"

    fingerprint: str = Field(primary_key=True, sa_type=sa.String(500))
    around: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    token: uuid.UUID = Field(sa_type=sa.Uuid())
    requested_at: datetime = Field(sa_type=UTCDateTime)


def of_service(service: str) -> sa.ColumnElement[bool]:
    """Incidents of a service named by its PagerDuty id or its name."""
    return sa.or_(col(Incident.service_id) == service, col(Incident.service_name) == service)


def by_reference(ref: str) -> sa.ColumnElement[bool]:
    """The incident named by its Loopgate id (a UUID) or its PagerDuty id."""
    try:
        return col(Incident.id) == uuid.UUID(ref)
    except ValueError:
        return col(Incident.external_id) == ref
