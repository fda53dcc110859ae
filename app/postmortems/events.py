"""What happens to postmortems that higher packages act on (app/core/events.py)."""

from dataclasses import dataclass
from typing import Any

from app.core.events import DomainEvent
from app.models.postmortems import Postmortem


@dataclass(frozen=True)
class PostmortemTransitioned(DomainEvent):
    """The postmortem moved from one status to another (published, closed, back to draft...)."""

    postmortem: Postmortem
    from_status: str
    to_status: str


@dataclass(frozen=True)
class CloseRefused(DomainEvent):
    """The Integration Gate refused to close the postmortem; published in a transaction of its own,
    since the refused change itself rolls back."""

    postmortem: Postmortem
    violations: list[dict[str, Any]]
    actor: str
