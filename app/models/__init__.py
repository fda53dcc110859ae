"""Every table, imported in one place so Alembic sees the whole metadata."""

from app.models.audit import AuditEntry
from app.models.base import metadata
from app.models.inbound import BackfillCheckpoint, InboundEvent
from app.models.incidents import Incident, IncidentEvent, IncidentTeam
from app.models.notifications import Announcement, Delivery, Subscription
from app.models.packets import EventPacket, PacketStatement
from app.models.postmortems import (
    ActionItem,
    Finding,
    FindingTag,
    Postmortem,
    PostmortemIncident,
)
from app.models.tickets import JobMark, Ticket
from app.models.tokens import ApiToken

__all__ = [
    "ActionItem", "Announcement", "ApiToken", "AuditEntry", "BackfillCheckpoint", "Delivery", "EventPacket",
    "Finding", "FindingTag", "InboundEvent", "Incident", "IncidentEvent", "IncidentTeam", "JobMark",
    "PacketStatement", "Postmortem", "PostmortemIncident", "Subscription", "Ticket", "metadata",
]
