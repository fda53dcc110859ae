"""Request and response models of the postmortem API.

Requests forbid unknown fields: a misspelt field gets a 422 instead of being ignored.
In update models, a field that may not be null is typed without `None` and defaults
to None: omitted means unchanged, while an explicit null fails validation (422).
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.models.postmortems import ActionItemStatus, PostmortemStatus, Priority
from app.postmortems.analysis import BARRIER_STATES, CATEGORIES, KINDS

Framework = Literal["five_whys", "contribution_map", "barrier_analysis"]
Status = PostmortemStatus
Role = Literal["facilitator", "responder", "provocateur", "stakeholder", "observer"]
Category = Literal["technical", "process", "organizational"]
Level = Literal["high", "medium", "low"]
Decision = Literal["ticket", "knowledge_base", "rejected"]
Durability = Literal["eliminate", "guardrail", "detect", "mitigate", "process", "vigilance"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Prose = Annotated[str, StringConstraints(max_length=100_000)]
Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]
IncidentRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
JiraKey = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                           pattern=r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$", max_length=50)]

MAX_TAG_LENGTH = 100


def normalise_tag(tag: str) -> str:
    """`#Config Management` → `config-management`: lower case, leading `#` dropped, spaces → `-`."""
    return "-".join(tag.strip().lstrip("#").lower().split())


def _normalise_tags(tags: list[str]) -> list[str]:
    normalised = []
    for raw in tags:
        tag = normalise_tag(raw)
        if not tag:
            raise ValueError(f"tag {raw!r} is empty once normalised")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag {tag!r} is longer than {MAX_TAG_LENGTH} characters")
        normalised.append(tag)
    return sorted(set(normalised))


Tags = Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50),
                 AfterValidator(_normalise_tags)]


# For query parameters: PostgreSQL cannot take a NUL character in a text parameter.
NO_NUL = r"^[^\x00]*$"


def _storable(value: Any) -> bool:
    """PostgreSQL text and JSONB hold neither NUL characters nor lone surrogates (which JSON allows)."""
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    return True


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _refuse_unstorable_text(cls, value: Any) -> Any:
        # A 422 here rather than a 500 from the database driver.
        if not _storable(value):
            raise ValueError("text must not contain NUL characters or unpaired surrogates")
        return value


# --- postmortems -------------------------------------------------------------------------------


class Participant(Request):
    name: Name
    role: Role


class PostmortemCreate(Request):
    title: Title
    incident_ids: list[IncidentRef] = Field(min_length=1, max_length=100,
                                            description="Loopgate incident ids or PagerDuty incident ids")
    framework: Framework
    facilitator: Name | None = None
    participants: list[Participant] = Field(default_factory=list, max_length=200)


class PostmortemUpdate(Request):
    # A non-None type defaulting to None: omitted means unchanged, null is a 422 (module docstring).
    title: Title = None  # type: ignore[assignment]
    summary: Prose | None = None
    what_went_well: Prose | None = None
    what_could_improve: Prose | None = None
    lessons: Prose | None = None
    facilitator: Name | None = None
    participants: list[Participant] = Field(None, max_length=200)  # type: ignore[arg-type]
    incident_ids: list[IncidentRef] = Field(None, min_length=1, max_length=100)  # type: ignore[arg-type]
    similar_incidents_reviewed: bool = None  # type: ignore[assignment]


class Transition(Request):
    to: Status


class AnalysisNode(Request):
    # kind, category and barrier_state are checked by app.postmortems.analysis, so that
    # the message names the node by its id rather than by its position in the list.
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    kind: str = Field(json_schema_extra={"enum": list(KINDS)})
    category: str | None = Field(None, json_schema_extra={"enum": [*CATEGORIES, None]})
    barrier_state: str | None = Field(None, json_schema_extra={"enum": [*BARRIER_STATES, None]})


class AnalysisEdge(Request):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        alias="from", description="the cause: this node contributed to `to`")
    to: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AnalysisGraph(Request):
    nodes: list[AnalysisNode] = Field(max_length=1000)
    edges: list[AnalysisEdge] = Field(max_length=5000)


class ViolationPublic(BaseModel):
    code: str
    message: str
    ids: list[str]


class GatePublic(BaseModel):
    passed: bool
    violations: list[ViolationPublic]
    warnings: list[ViolationPublic]


class BlameIssuePublic(BaseModel):
    sentence: str
    indicator: str
    suggestion: str
    start: int = Field(description="offset of the matched words in the text")
    end: int


class LocatedBlameIssue(BlameIssuePublic):
    field: str = Field(description="title, summary, what_went_well, what_could_improve, lessons or statement")
    finding_id: uuid.UUID | None = Field(description="the finding, when `field` is a finding's statement")


class PostmortemPublic(BaseModel):
    id: uuid.UUID
    title: str
    framework: Framework
    status: Status
    incident_ids: list[uuid.UUID]
    facilitator: str | None
    participants: list[Participant]
    summary: str | None
    what_went_well: str | None
    what_could_improve: str | None
    lessons: str | None
    similar_incidents_reviewed: bool
    created_at: datetime
    updated_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None


class PostmortemList(BaseModel):
    items: list[PostmortemPublic]
    next_cursor: str | None


# --- findings and action items ---------------------------------------------------------------


class TicketRequest(Request):
    create_ticket: bool = Field(False, description="queue the creation of a Jira issue for this item")
    jira_key: JiraKey | None = Field(None, description="link an existing Jira issue (checked to exist)")

    @model_validator(mode="after")
    def _one_way_to_a_ticket(self) -> "TicketRequest":
        if self.create_ticket and self.jira_key:
            raise ValueError("give either create_ticket or jira_key, not both")
        return self


class ActionItemCreate(TicketRequest):
    title: Title
    owner: Name
    priority: Priority
    due_date: date = Field(description="ISO date; a date in the past is accepted (history entered after the fact)")
    durability: Durability
    description: Prose | None = None


class ActionItemUpdate(TicketRequest):
    # A non-None type defaulting to None: omitted means unchanged, null is a 422 (module docstring).
    title: Title = None  # type: ignore[assignment]
    owner: Name = None  # type: ignore[assignment]
    priority: Priority = None  # type: ignore[assignment]
    due_date: date = None  # type: ignore[assignment]
    durability: Durability = None  # type: ignore[assignment]
    description: Prose | None = None
    status: ActionItemStatus = None  # type: ignore[assignment]
    completion_notes: Prose | None = None


class TicketPublic(BaseModel):
    """The Jira ticket of an action item (the outbox row); null when none was asked for."""

    state: str
    jira_key: str | None
    url: str | None
    status_category: str | None
    last_error: str | None


class ActionItemPublic(BaseModel):
    id: uuid.UUID
    finding_id: uuid.UUID
    postmortem_id: uuid.UUID
    title: str
    description: str | None
    owner: str
    priority: Priority
    due_date: date
    durability: Durability
    status: ActionItemStatus
    completion_notes: str | None
    escalation_level: int
    overdue: bool = Field(description="open, in_progress or blocked with a due date before today (UTC)")
    created_at: datetime
    updated_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    ticket: TicketPublic | None = None


class ActionItemList(BaseModel):
    items: list[ActionItemPublic]
    next_cursor: str | None


class FindingCreate(Request):
    statement: Statement
    category: Category
    tags: Tags = Field(default_factory=list, description="normalised: lower case, no '#', spaces → '-'")
    impact: Level
    effort: Level
    decision: Decision
    owner: Name | None = None
    systemic: bool = False
    proposal: Prose | None = Field(None, description="for a systemic finding: an OKR-style proposal")


class FindingUpdate(Request):
    # A non-None type defaulting to None: omitted means unchanged, null is a 422 (module docstring).
    statement: Statement = None  # type: ignore[assignment]
    category: Category = None  # type: ignore[assignment]
    tags: Tags = None  # type: ignore[assignment]
    impact: Level = None  # type: ignore[assignment]
    effort: Level = None  # type: ignore[assignment]
    decision: Decision = None  # type: ignore[assignment]
    owner: Name | None = None
    systemic: bool = None  # type: ignore[assignment]
    proposal: Prose | None = None


class AdvicePublic(BaseModel):
    suggested_decision: Literal["ticket", "knowledge_base"]
    message: str
    matches_decision: bool


class FindingPublic(BaseModel):
    id: uuid.UUID
    postmortem_id: uuid.UUID
    statement: str
    category: Category
    tags: list[str]
    impact: Level
    effort: Level
    decision: Decision
    owner: str | None
    systemic: bool
    proposal: str | None
    advice: AdvicePublic = Field(description="the impact/effort matrix of seed 003")
    created_at: datetime
    updated_at: datetime | None
    action_items: list[ActionItemPublic]


class FindingList(BaseModel):
    items: list[FindingPublic]
    next_cursor: str | None


class PostmortemDetail(PostmortemPublic):
    analysis: AnalysisGraph | None
    findings: list[FindingPublic]
    blame_issues: list[LocatedBlameIssue]
    gate: GatePublic = Field(description="the Integration Gate, evaluated now")


# --- blame lint --------------------------------------------------------------------------------


class LintRequest(Request):
    text: Annotated[str, StringConstraints(max_length=1_000_000)]


class LintResponse(BaseModel):
    issues: list[BlameIssuePublic]
