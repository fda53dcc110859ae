"""Postmortems as data: the postmortem, the incidents it covers, findings, their tags and action items.

Allowed values (status, framework, category...) are checked by the API schemas, not
by CHECK constraints: a new value then needs no table rebuild on SQLite.

`updated_at` is set by the services on changes made through the API, not by
`onupdate`: a system change (an escalation level) must not look like someone
working on the row.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JSONType, created_at, uuid_pk


class PostmortemStatus(StrEnum):
    """The lifecycle, in its order: draft → in_review → published → closed."""

    draft = "draft"
    in_review = "in_review"
    published = "published"
    closed = "closed"

    @property
    def rank(self) -> int:
        """How far along the lifecycle: draft 0 … closed 3."""
        return list(PostmortemStatus).index(self)


class ActionItemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    blocked = "blocked"
    completed = "completed"
    wont_do = "wont_do"


# Open work: what can be overdue, escalated, or still owed by a service.
OPEN_STATUSES = frozenset({ActionItemStatus.open, ActionItemStatus.in_progress, ActionItemStatus.blocked})
CLOSED_STATUSES = frozenset({ActionItemStatus.completed, ActionItemStatus.wont_do})


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Postmortem(Base):
    """One postmortem over one or more incidents, moving draft → in_review → published → closed."""

    __tablename__ = "postmortems"
    __table_args__ = (sa.Index("ix_postmortems_created_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(sa.Text)
    framework: Mapped[str] = mapped_column(sa.String(30))
    status: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    facilitator: Mapped[str | None] = mapped_column(sa.String(200))
    participants: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    what_went_well: Mapped[str | None] = mapped_column(sa.Text)
    what_could_improve: Mapped[str | None] = mapped_column(sa.Text)
    lessons: Mapped[str | None] = mapped_column(sa.Text)
    similar_incidents_reviewed: Mapped[bool] = mapped_column(default=False)
    # The analysis graph {nodes, edges} (DESIGN §2 AnalysisGraph); null until it is first set.
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class PostmortemIncident(Base):
    """Which incidents a postmortem covers, in the order the author gave them."""

    __tablename__ = "postmortem_incidents"

    postmortem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"),
                                                     primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True, index=True)
    position: Mapped[int]


class Finding(Base):
    """An agreed statement about what contributed, with the decision about what to do with it."""

    __tablename__ = "findings"
    __table_args__ = (sa.Index("ix_findings_created_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    postmortem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="CASCADE"), index=True)
    statement: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str] = mapped_column(sa.String(20), index=True)
    impact: Mapped[str] = mapped_column(sa.String(10))
    effort: Mapped[str] = mapped_column(sa.String(10))
    decision: Mapped[str] = mapped_column(sa.String(20))
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    systemic: Mapped[bool] = mapped_column(default=False)
    proposal: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]


class FindingTag(Base):
    """One normalised tag of a finding: a row per tag, so tag search is plain SQL on every backend."""

    __tablename__ = "finding_tags"

    finding_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(100), primary_key=True, index=True)


class ActionItem(Base):
    """A piece of work that answers a finding; its Jira ticket arrives with the Jira issue."""

    __tablename__ = "action_items"
    __table_args__ = (sa.Index("ix_action_items_created_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    finding_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner: Mapped[str] = mapped_column(sa.String(200), index=True)
    priority: Mapped[str] = mapped_column(sa.String(2))
    due_date: Mapped[date] = mapped_column(index=True)
    durability: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    completion_notes: Mapped[str | None] = mapped_column(sa.Text)
    escalation_level: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


def is_overdue(item: ActionItem, *, on: date) -> bool:
    """Open, in progress or blocked with a due date before `on` (due today is not overdue)."""
    return item.status in OPEN_STATUSES and item.due_date < on


def overdue_condition(on: date) -> sa.ColumnElement[bool]:
    """`is_overdue` as SQL, for queries over action items."""
    return sa.and_(ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_date < on)
