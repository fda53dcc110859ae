"""Every table, imported in one place so Alembic sees the whole metadata."""

from app.audit import AuditEntry
from app.db import Base
from app.inbound.models import InboundEvent
from app.incidents.models import Incident, IncidentEvent, IncidentTeam
from app.packets.models import EventPacket, PacketStatement
from app.postmortems.models import ActionItem, Finding, FindingTag, Postmortem, PostmortemIncident
from app.tickets.models import JobMark, Ticket
from app.tokens.models import ApiToken

metadata = Base.metadata

__all__ = [
    "ActionItem", "ApiToken", "AuditEntry", "EventPacket", "Finding", "FindingTag", "InboundEvent", "Incident",
    "IncidentEvent", "IncidentTeam", "JobMark", "PacketStatement", "Postmortem", "PostmortemIncident", "Ticket",
    "metadata",
]
