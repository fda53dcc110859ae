"""What happens to incidents that higher packages act on (app/core/events.py)."""

import uuid
from dataclasses import dataclass

from app.core.events import DomainEvent
from app.models.incidents import Incident


@dataclass(frozen=True)
class IncidentResolved(DomainEvent):
    """A new resolve (the first, or one after a reopen) of an incident that was not merged away."""

    incident: Incident


@dataclass(frozen=True)
class RepeatLinked(DomainEvent):
    """An incident was found to repeat an earlier one (its `repeat_of_id` was set to it)."""

    incident_id: uuid.UUID
    repeat_of_id: uuid.UUID
