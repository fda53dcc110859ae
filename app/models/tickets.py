import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


class TicketState(StrEnum):
    """The outbox state of an action item's Jira issue."""

    pending = "pending"  # to be created
    creating = "creating"  # a create call is (or was) under way; its outcome may be unknown
    created = "created"
    linked = "linked"  # an existing issue a person linked
    missing = "missing"  # deleted in Jira, or no longer visible
    failed = "failed"  # Jira refused it, or every attempt failed


# The issue exists: Jira owns the action item's status.
JIRA_OWNED = frozenset({TicketState.created, TicketState.linked})
# Creation is asked for or under way.
IN_FLIGHT = frozenset({TicketState.pending, TicketState.creating})


class Ticket(SQLModel, table=True):
    """The outbox row for an action item's Jira issue: one per action item.

    `creating` is committed before the create call; a row left `creating` means the
    outcome of that call is unknown, and the next attempt searches by label first.
    """

    __tablename__ = "tickets"
    __table_args__ = (sa.Index("ix_tickets_state_next_attempt", "state", "next_attempt_at"),)

    id: uuid.UUID = uuid_pk()
    action_item_id: uuid.UUID = Field(foreign_key="action_items.id", ondelete="CASCADE", unique=True)
    state: str = Field(default="pending", sa_type=sa.String(20))
    jira_key: str | None = Field(default=None, index=True, sa_type=sa.String(50))
    jira_id: str | None = Field(default=None, index=True, sa_type=sa.String(50))
    url: str | None = Field(default=None, sa_type=sa.Text)
    status_category: str | None = Field(default=None, sa_type=sa.String(20))
    resolution: str | None = Field(default=None, sa_type=sa.String(100))
    jira_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remote_link_added: bool = Field(default=False)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    duplicate_keys: list[Any] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JobMark(SQLModel, table=True):
    """Where a periodic job got to (e.g. the last successful Jira reconciliation)."""

    __tablename__ = "job_marks"

    name: str = Field(primary_key=True, sa_type=sa.String(100))
    value: datetime = Field(sa_type=UTCDateTime)
