"""What happens to incidents that higher packages act on (app/core/events.py)."""

from dataclasses import dataclass

from app.core.events import DomainEvent
from app.models.incidents import Incident


@dataclass(frozen=True)
class IncidentResolved(DomainEvent):
    """A new resolve (the first, or one after a reopen) of an incident that was not merged away."""

    incident: Incident
