"""Event Packets: ask for a new version, read versions, and the facts the gate needs."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.db import lock_for_update
from app.core.errors import NotFound
from app.core.queue import enqueue_after_commit
from app.incidents.events import IncidentResolved
from app.models import audit
from app.models.incidents import Incident
from app.models.packets import EventPacket, PacketStatement, PacketStatus


async def request_packet(session: AsyncSession, *, incident: Incident, reason: str, actor: str,
                         sla_hours: int) -> EventPacket:
    """Add a `pending` version; the assembly job is sent once this transaction commits."""
    # Versions are numbered in the INSERT itself (atomic on SQLite); on PostgreSQL the incident's
    # row lock orders concurrent requests for the same incident.
    await session.execute(lock_for_update(session, sa.select(col(Incident.id)).where(col(Incident.id) == incident.id)))
    next_version = (sa.select(sa.func.coalesce(sa.func.max(col(EventPacket.version)), 0) + 1)
                    .where(col(EventPacket.incident_id) == incident.id).scalar_subquery())
    due = incident.resolved_at + timedelta(hours=sla_hours) if incident.resolved_at else None
    # `version` is a SQL expression, evaluated by the INSERT.
    packet = EventPacket(incident_id=incident.id, version=next_version,  # type: ignore[arg-type]
                         status=PacketStatus.pending, reason=reason, sla_due_at=due, attempts=0)
    session.add(packet)
    await session.flush()
    await session.refresh(packet, ["version"])
    audit.record(session, actor=actor, action="packet.requested", entity="incident", entity_id=incident.id,
                 diff={"version": packet.version, "reason": reason})
    enqueue_after_commit(session, "assemble_packet", str(packet.id))
    return packet


@dataclass(frozen=True)
class VersionRow:
    version: int
    status: str
    assembled_at: datetime | None


@dataclass(frozen=True)
class PacketSummary:
    incident_id: uuid.UUID
    version: int
    status: str
    similar_incident_ids: tuple[str, ...]


async def latest_packets(session: AsyncSession, *, incident_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PacketSummary]:
    """The newest version of each incident's packet (incidents without one are absent)."""
    if not incident_ids:
        return {}
    newest = (
        sa.select(col(EventPacket.incident_id), sa.func.max(col(EventPacket.version)).label("version"))
        .where(col(EventPacket.incident_id).in_(incident_ids))
        .group_by(col(EventPacket.incident_id))
        .subquery()
    )
    # Only the status and the similar incidents' ids: the content may be megabytes.
    rows = await session.execute(
        sa.select(col(EventPacket.incident_id), col(EventPacket.version), col(EventPacket.status),
                  col(EventPacket.content)["similar_incidents"])
        .join(newest, sa.and_(col(EventPacket.incident_id) == newest.c.incident_id,
                              col(EventPacket.version) == newest.c.version))
    )
    return {
        incident_id: PacketSummary(incident_id, version, status,
                                   tuple(str(s["incident_id"]) for s in similar or ()))
        for incident_id, version, status, similar in rows
    }


async def get_packet(session: AsyncSession, *, incident: Incident, version: int | None
                     ) -> tuple[EventPacket, list[VersionRow]]:
    """A version of the incident's packet (the newest by default) and the list of all versions."""
    versions = [VersionRow(*row) for row in await session.execute(
        sa.select(col(EventPacket.version), col(EventPacket.status), col(EventPacket.assembled_at))
        .where(col(EventPacket.incident_id) == incident.id).order_by(col(EventPacket.version)))]
    if not versions:
        raise NotFound(f"Incident {incident.external_id} has no Event Packet yet.")
    wanted = versions[-1].version if version is None else version
    packet = await session.scalar(
        sa.select(EventPacket).where(col(EventPacket.incident_id) == incident.id, col(EventPacket.version) == wanted))
    if packet is None:
        raise NotFound(f"Incident {incident.external_id} has no packet version {version}.",
                       details={"versions": [v.version for v in versions]})
    return packet, versions


async def add_statement(session: AsyncSession, *, incident: Incident, author: str, text: str, actor: str,
                        sla_hours: int) -> EventPacket:
    """Record a stakeholder's impact statement and ask for a version that includes it."""
    statement = PacketStatement(incident_id=incident.id, author=author, text=text)
    session.add(statement)
    await session.flush()
    audit.record(session, actor=actor, action="packet.statement_added", entity="incident", entity_id=incident.id,
                 diff={"author": author})
    return await request_packet(session, incident=incident, reason="statement", actor=actor, sla_hours=sla_hours)


async def on_incident_resolved(session: AsyncSession, event: IncidentResolved, *, sla_hours: int) -> None:
    """A resolve starts the packet: a `pending` version in the resolve's own transaction."""
    await request_packet(session, incident=event.incident, reason="resolved", actor="pagerduty", sla_hours=sla_hours)


async def unfinished(session: AsyncSession, *, requested_before: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """Versions still pending or assembling long after they were asked for (a lost or failed job)."""
    return list(await session.scalars(
        sa.select(col(EventPacket.id)).where(col(EventPacket.status).in_((PacketStatus.pending,
                                                                          PacketStatus.assembling)),
                                        col(EventPacket.requested_at) < requested_before)
        .order_by(col(EventPacket.requested_at)).limit(limit)))
