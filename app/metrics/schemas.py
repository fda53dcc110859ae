"""What the metrics routes answer (DESIGN §10): rates with their parts, durations with their count."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class Rate(BaseModel):
    value: float | None = Field(description="numerator / denominator, in [0, 1]; null when the denominator is 0")
    numerator: int
    denominator: int


class ByPriority(BaseModel):
    P1: Rate
    P2: Rate
    P3: Rate


class CompletionRate(Rate):
    by_priority: ByPriority


class Duration(BaseModel):
    mean: float | None
    median: float | None = Field(description="nearest rank")
    p90: float | None = Field(description="nearest rank")
    count: int


class Count(BaseModel):
    count: int


class Window(BaseModel):
    since: datetime | None
    until: datetime | None
    service: str | None
    team: str | None


class Measures(BaseModel):
    """Every windowed measure of DESIGN §5; durations in seconds, `completion_days` in days."""

    mttr: Duration
    mtta: Duration
    voluntary_reporting_rate: Rate
    postmortem_completion_rate: Rate
    time_to_packet: Duration
    packet_sla_breach_rate: Rate
    time_to_insight: Duration
    action_item_completion_rate: CompletionRate
    on_time_rate: Rate
    completion_days: Duration
    time_to_remediation: Duration
    incident_to_improvement: Duration
    repeat_incident_rate: Rate
    recurred_after_remediation: Rate
    recurred_while_overdue: Rate


class Summary(Measures):
    window: Window
    generated_at: datetime
    overdue: Count = Field(description="open work past its due date now; the window does not apply")


class TrendBucket(Measures):
    bucket: Literal["week", "month"]
    start: date = Field(description="the bucket's first day (a Monday for weeks), UTC")


class Trends(BaseModel):
    bucket: Literal["week", "month"]
    window: Window
    generated_at: datetime
    items: list[TrendBucket]


class PatternItem(BaseModel):
    kind: Literal["tag", "category"]
    key: str
    occurrences: int = Field(description="distinct postmortems")
    postmortem_ids: list[uuid.UUID]
    recommendation: str
    has_systemic_finding: bool


class Patterns(BaseModel):
    min_occurrences: int
    window: Window
    items: list[PatternItem]


class CriterionPublic(BaseModel):
    name: str
    value: float | None
    threshold: float | None
    met: bool


class LevelPublic(BaseModel):
    level: int
    name: str
    met: bool = Field(description="this level's criteria and every level below it hold")
    criteria: list[CriterionPublic]


class Maturity(BaseModel):
    level: int
    name: str
    levels: list[LevelPublic]
    evaluated_at: datetime
