"""Outbound notifications: subscriptions, their deliveries (the outbox), and what was announced once.

A Delivery row is written in the transaction of the change that caused its event, so an
event is never announced for a change that rolled back, nor lost for one that committed.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


class EventType(StrEnum):
    """Every event a subscriber can ask for (DESIGN §7)."""

    incident_resolved = "incident.resolved"
    packet_assembled = "packet.assembled"
    packet_sla_breached = "packet.sla_breached"
    postmortem_published = "postmortem.published"
    postmortem_closed = "postmortem.closed"
    gate_failed = "gate.failed"
    action_item_overdue = "action_item.overdue"
    action_item_escalated = "action_item.escalated"
    action_item_stale = "action_item.stale"
    action_item_auto_closed = "action_item.auto_closed"
    pattern_detected = "pattern.detected"
    recurrence_detected = "recurrence.detected"
    digest_weekly = "digest.weekly"
    digest_monthly = "digest.monthly"


class SubscriptionFormat(StrEnum):
    standard = "standard"  # Standard Webhooks: signed JSON body
    slack = "slack"  # {"text": ...} for a Slack incoming-webhook URL


class DeliveryStatus(StrEnum):
    pending = "pending"  # to be tried (again) at next_attempt_at
    delivered = "delivered"  # a 2xx answer
    gave_up = "gave_up"  # every attempt for 24 hours failed


class Subscription(SQLModel, table=True):
    """An outbound webhook: where to post which events, signed with which secret."""

    __tablename__ = "subscriptions"
    __table_args__ = (sa.Index("ix_subscriptions_created_id", "created_at", "id"),)

    id: uuid.UUID = uuid_pk()
    url: str = Field(sa_type=sa.Text)
    events: list[str] = Field(default_factory=list, sa_type=JSONType)
    # `whsec_<base64>`; the signing key is the decoded part. Shown once, on creation.
    secret: str = Field(sa_type=sa.String(200))
    format: str = Field(default="standard", sa_type=sa.String(20))
    # Routed learnings (DESIGN §11): each non-empty list must match the event.
    services: list[str] = Field(default_factory=list, sa_type=JSONType)
    teams: list[str] = Field(default_factory=list, sa_type=JSONType)
    categories: list[str] = Field(default_factory=list, sa_type=JSONType)
    severities: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_by: str = Field(sa_type=sa.String(200))
    created_at: datetime = created_at()


class Delivery(SQLModel, table=True):
    """One event for one subscription: the outbox row the `deliver` job works off."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_deliveries_status_next_attempt", "status", "next_attempt_at"),
        sa.Index("ix_deliveries_subscription_created", "subscription_id", "created_at", "id"),
    )

    id: uuid.UUID = uuid_pk()
    subscription_id: uuid.UUID = Field(foreign_key="subscriptions.id", ondelete="CASCADE")
    event_id: str = Field(sa_type=sa.String(64))
    event_type: str = Field(sa_type=sa.String(50))
    payload: dict[str, Any] = Field(sa_type=JSONType)
    status: str = Field(default="pending", sa_type=sa.String(20))
    attempts: int = Field(default=0)
    created_at: datetime = created_at()
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    gave_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class Announcement(SQLModel, table=True):
    """What was announced once and must never be again: (kind, subject, level) is the memory.

    subject is the thing announced about (an action item id, a packet id, a period such as
    `2026-W48`, a pattern `tag:canary`); level distinguishes the rungs of the escalation ladder.
    """

    __tablename__ = "announcements"

    kind: str = Field(primary_key=True, sa_type=sa.String(50))
    subject: str = Field(primary_key=True, sa_type=sa.String(200))
    level: int = Field(default=0, primary_key=True)
    announced_at: datetime = created_at()
