"""packet.sla_breached: a resolve's packet not assembled within LOOPGATE_PACKET_SLA_HOURS; once per packet.

Only the packet a resolve asked for counts (a rebuild or a statement later inherits the same
due time, long past). Packets whose due time passed more than LOOKBACK ago are not announced:
a new installation does not flood its subscribers with its history.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.incidents import Incident
from app.models.notifications import EventType
from app.models.packets import EventPacket
from app.notifications import outbox
from app.notifications.subjects import incident_data, incident_facets

LOOKBACK = timedelta(days=7)


async def announce_breaches(session: AsyncSession, *, now: datetime) -> int:
    """Announce every packet past its SLA without having been assembled by then; the number announced."""
    rows = (await session.execute(
        sa.select(EventPacket, Incident).join(Incident, col(Incident.id) == col(EventPacket.incident_id))
        .where(col(EventPacket.reason) == "resolved", col(EventPacket.sla_due_at) <= now,
               col(EventPacket.sla_due_at) > now - LOOKBACK,
               sa.or_(col(EventPacket.assembled_at).is_(None),
                      col(EventPacket.assembled_at) > col(EventPacket.sla_due_at)))
        .order_by(col(EventPacket.sla_due_at), col(EventPacket.id)))).all()
    announced = 0
    for packet, incident in rows:
        assert packet.sla_due_at is not None  # the WHERE compares it
        data = {"summary": f"The Event Packet of {incident.title} was not ready by {packet.sla_due_at.isoformat()}",
                "packet": {"id": packet.id, "version": packet.version, "status": packet.status,
                           "sla_due_at": packet.sla_due_at, "assembled_at": packet.assembled_at,
                           "last_error": packet.last_error},
                "incident": incident_data(incident)}
        announced += await outbox.announce_once(session, event_type=EventType.packet_sla_breached,
                                                subject=str(packet.id), data=data,
                                                facets=incident_facets([incident]))
    return announced
