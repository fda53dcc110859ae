import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType, created_at, uuid_pk


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


class Ticket(Base):
    """The outbox row for an action item's Jira issue: one per action item.

    `creating` is committed before the create call; a row left `creating` means the
    outcome of that call is unknown, and the next attempt searches by label first.
    """

    __tablename__ = "tickets"
    __table_args__ = (sa.Index("ix_tickets_state_next_attempt", "state", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    action_item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("action_items.id", ondelete="CASCADE"),
                                                      unique=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    jira_key: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    jira_id: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    url: Mapped[str | None] = mapped_column(sa.Text)
    status_category: Mapped[str | None] = mapped_column(sa.String(20))
    resolution: Mapped[str | None] = mapped_column(sa.String(100))
    jira_updated_at: Mapped[datetime | None]
    remote_link_added: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    duplicate_keys: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]


class JobMark(Base):
    """Where a periodic job got to (e.g. the last successful Jira reconciliation)."""

    __tablename__ = "job_marks"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[datetime]
