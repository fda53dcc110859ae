"""Every table, imported in one place so Alembic sees the whole metadata."""

from app.audit import AuditEntry
from app.db import Base
from app.inbound.models import InboundEvent
from app.incidents.models import Incident, IncidentEvent, IncidentTeam
from app.tokens.models import ApiToken

metadata = Base.metadata

__all__ = ["ApiToken", "AuditEntry", "InboundEvent", "Incident", "IncidentEvent", "IncidentTeam", "metadata"]
