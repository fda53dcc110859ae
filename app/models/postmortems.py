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
from sqlmodel import Field, SQLModel, col

from app.core.db import JSONType, UTCDateTime
from app.models.base import created_at, uuid_pk


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


class Postmortem(SQLModel, table=True):
    """One postmortem over one or more incidents, moving draft → in_review → published → closed."""

    __tablename__ = "postmortems"
    __table_args__ = (sa.Index("ix_postmortems_created_id", "created_at", "id"),)

    id: uuid.UUID = uuid_pk()
    title: str = Field(sa_type=sa.Text)
    framework: str = Field(sa_type=sa.String(30))
    status: str = Field(default="draft", index=True, sa_type=sa.String(20))
    facilitator: str | None = Field(default=None, sa_type=sa.String(200))
    participants: list[Any] = Field(default_factory=list, sa_type=JSONType)
    summary: str | None = Field(default=None, sa_type=sa.Text)
    what_went_well: str | None = Field(default=None, sa_type=sa.Text)
    what_could_improve: str | None = Field(default=None, sa_type=sa.Text)
    lessons: str | None = Field(default=None, sa_type=sa.Text)
    similar_incidents_reviewed: bool = Field(default=False)
    # The analysis graph {nodes, edges} (DESIGN §2 AnalysisGraph); null until it is first set.
    analysis: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = created_at()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PostmortemIncident(SQLModel, table=True):
    """Which incidents a postmortem covers, in the order the author gave them."""

    __tablename__ = "postmortem_incidents"

    postmortem_id: uuid.UUID = Field(foreign_key="postmortems.id", ondelete="CASCADE", primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", ondelete="CASCADE", primary_key=True, index=True)
    position: int


class Finding(SQLModel, table=True):
    """An agreed statement about what contributed, with the decision about what to do with it."""

    __tablename__ = "findings"
    __table_args__ = (sa.Index("ix_findings_created_id", "created_at", "id"),)

    id: uuid.UUID = uuid_pk()
    postmortem_id: uuid.UUID = Field(foreign_key="postmortems.id", ondelete="CASCADE", index=True)
    statement: str = Field(sa_type=sa.Text)
    category: str = Field(index=True, sa_type=sa.String(20))
    impact: str = Field(sa_type=sa.String(10))
    effort: str = Field(sa_type=sa.String(10))
    decision: str = Field(sa_type=sa.String(20))
    owner: str | None = Field(default=None, sa_type=sa.String(200))
    systemic: bool = Field(default=False)
    proposal: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = created_at()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FindingTag(SQLModel, table=True):
    """One normalised tag of a finding: a row per tag, so tag search is plain SQL on every backend."""

    __tablename__ = "finding_tags"

    finding_id: uuid.UUID = Field(foreign_key="findings.id", ondelete="CASCADE", primary_key=True)
    tag: str = Field(primary_key=True, index=True, sa_type=sa.String(100))


class ActionItem(SQLModel, table=True):
    """A piece of work that answers a finding; its Jira ticket arrives with the Jira issue."""

    __tablename__ = "action_items"
    __table_args__ = (sa.Index("ix_action_items_created_id", "created_at", "id"),)

    id: uuid.UUID = uuid_pk()
    finding_id: uuid.UUID = Field(foreign_key="findings.id", ondelete="CASCADE", index=True)
    title: str = Field(sa_type=sa.Text)
    description: str | None = Field(default=None, sa_type=sa.Text)
    owner: str = Field(index=True, sa_type=sa.String(200))
    priority: str = Field(sa_type=sa.String(2))
    due_date: date = Field(index=True)
    durability: str = Field(sa_type=sa.String(20))
    status: str = Field(default="open", index=True, sa_type=sa.String(20))
    completion_notes: str | None = Field(default=None, sa_type=sa.Text)
    escalation_level: int = Field(default=0)
    created_at: datetime = created_at()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def is_overdue(item: ActionItem, *, on: date) -> bool:
    """Open, in progress or blocked with a due date before `on` (due today is not overdue)."""
    return item.status in OPEN_STATUSES and item.due_date < on


def overdue_condition(on: date) -> sa.ColumnElement[bool]:
    """`is_overdue` as SQL, for queries over action items."""
    return sa.and_(col(ActionItem.status).in_(OPEN_STATUSES), col(ActionItem.due_date) < on)
