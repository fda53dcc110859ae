import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType, created_at, uuid_pk


class Incident(Base):
    """An incident as PagerDuty reported it, folded from its events in `occurred_at` order."""

    __tablename__ = "incidents"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_incidents_fingerprint_triggered", "fingerprint", "triggered_at"),
        sa.Index("ix_incidents_triggered_id", "triggered_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(sa.String(20), default="pagerduty")
    external_id: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[int | None]
    title: Mapped[str] = mapped_column(sa.Text, default="")
    service_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    service_name: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    teams: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    assignees: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    urgency: Mapped[str | None] = mapped_column(sa.String(20))
    priority: Mapped[str | None] = mapped_column(sa.String(50))
    severity: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="triggered", index=True)
    triggered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    incident_key: Mapped[str | None] = mapped_column(sa.Text)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(500))
    repeat_of_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))
    merged_into_external_id: Mapped[str | None] = mapped_column(sa.String(100))
    reported_by: Mapped[str | None] = mapped_column(sa.String(20))
    html_url: Mapped[str | None] = mapped_column(sa.Text)
    last_event_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class IncidentTeam(Base):
    """Which teams an incident belongs to, for filtering by team id or name."""

    __tablename__ = "incident_teams"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    team_name: Mapped[str | None] = mapped_column(sa.String(300), index=True)


class IncidentEvent(Base):
    """One PagerDuty event applied to an incident; the history the incident is folded from."""

    __tablename__ = "incident_events"
    __table_args__ = (sa.Index("ix_incident_events_incident_occurred", "incident_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100))
    occurred_at: Mapped[datetime]
    agent: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class RepeatRelink(Base):
    """Repeats to recompute: a fingerprint around a trigger time.

    Written in the transaction that changed an incident's fingerprint or trigger time;
    deleted by the `link_repeats` job that recomputed them (unless requested again
    meanwhile, which changes `token`); resubmitted by the sweeper when that job was lost.
    """

    __tablename__ = "repeat_relinks"

    fingerprint: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    around: Mapped[datetime] = mapped_column(primary_key=True)
    token: Mapped[uuid.UUID] = mapped_column(sa.Uuid())
    requested_at: Mapped[datetime]


def of_service(service: str) -> sa.ColumnElement[bool]:
    """Incidents of a service named by its PagerDuty id or its name."""
    return sa.or_(Incident.service_id == service, Incident.service_name == service)


def by_reference(ref: str) -> sa.ColumnElement[bool]:
    """The incident named by its Loopgate id (a UUID) or its PagerDuty id."""
    try:
        return Incident.id == uuid.UUID(ref)
    except ValueError:
        return Incident.external_id == ref
