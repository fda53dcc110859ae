from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app.core.errors import error_responses
from app.core.runtime import SessionDep, SettingsDep
from app.incidents.service import get_incident
from app.models.packets import EventPacket
from app.packets import service
from app.packets.mermaid import packet_timeline
from app.packets.schemas import PacketFormat, PacketPublic, PacketRequested, StatementCreate
from app.tokens.auth import ReadDep, WriteDep

router = APIRouter(prefix="/api/v1/incidents/{incident_id}/packet", tags=["packets"],
                   responses=error_responses(401, 403, 404, 422))

EMPTY: dict[str, Any] = {"timeline": [], "alerts": [], "notes": [], "responders": [], "decision_points": [],
                         "impact": {}, "similar_incidents": [], "gaps": []}


def _public(packet: EventPacket, versions: list[service.VersionRow]) -> PacketPublic:
    return PacketPublic(
        incident_id=packet.incident_id, version=packet.version, status=packet.status, reason=packet.reason,
        assembled_at=packet.assembled_at, sla_due_at=packet.sla_due_at, sha256=packet.sha256,
        **(packet.content or EMPTY), last_error=packet.last_error,
        versions=[{"version": v.version, "status": v.status, "assembled_at": v.assembled_at} for v in versions],
    )


def _requested(packet: EventPacket) -> PacketRequested:
    return PacketRequested(incident_id=packet.incident_id, version=packet.version, status=packet.status)


MERMAID = "text/plain"  # Starlette adds "; charset=utf-8"


@router.get("", response_model=PacketPublic,
            responses={200: {"content": {MERMAID: {"schema": {"type": "string"}}},
                             "description": "the packet as JSON, or (`format=mermaid`) its timeline in Mermaid"}})
async def get_packet(incident_id: str, session: SessionDep, _: ReadDep,
                     version: Annotated[int | None, Query(ge=1)] = None,
                     format: PacketFormat = PacketFormat.json) -> Response | PacketPublic:
    """The newest Event Packet, or `?version=N`; 404 until the first exists. `format=mermaid`: its timeline as a
    Mermaid `timeline` diagram (a section per UTC day, a period per minute)."""
    incident = await get_incident(session, incident_id=incident_id)
    packet, versions = await service.get_packet(session, incident=incident, version=version)
    if format is PacketFormat.mermaid:
        title = f"{incident.title or incident.external_id} — Event Packet v{packet.version}"
        return Response(packet_timeline((packet.content or EMPTY)["timeline"], title=title), media_type=MERMAID)
    return _public(packet, versions)


@router.post("/rebuild", status_code=status.HTTP_202_ACCEPTED, response_model=PacketRequested)
async def rebuild_packet(incident_id: str, session: SessionDep, principal: WriteDep, settings: SettingsDep
                         ) -> PacketRequested:
    """Assemble a new version from fresh PagerDuty reads."""
    incident = await get_incident(session, incident_id=incident_id)
    packet = await service.request_packet(session, incident=incident, reason="rebuild", actor=principal.name,
                                          sla_hours=settings.packet_sla_hours)
    await session.commit()
    return _requested(packet)


@router.post("/statements", status_code=status.HTTP_202_ACCEPTED, response_model=PacketRequested)
async def add_statement(incident_id: str, body: StatementCreate, session: SessionDep, principal: WriteDep,
                        settings: SettingsDep) -> PacketRequested:
    """A stakeholder impact statement; a new version includes it."""
    incident = await get_incident(session, incident_id=incident_id)
    packet = await service.add_statement(session, incident=incident, author=body.author, text=body.text,
                                         actor=principal.name,
                                         sla_hours=settings.packet_sla_hours)
    await session.commit()
    return _requested(packet)
