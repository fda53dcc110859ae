"""What people read: the postmortem as a document (Markdown or JSON) and its analysis graph as Mermaid.

Reads the postmortem's detail, its incidents and their newest assembled Event Packets, then hands
them to the pure renderers (document.py, markdown.py, mermaid.py).
"""

import uuid
from collections.abc import Sequence
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.settings import Settings
from app.models.incidents import Incident
from app.models.packets import EventPacket, PacketStatus
from app.postmortems import views
from app.postmortems.document import PostmortemDocument, build_document
from app.postmortems.gate import IntegrationGate
from app.postmortems.markdown import render_markdown
from app.postmortems.mermaid import analysis_flowchart
from app.postmortems.reads import get_postmortem

ASSEMBLED = (PacketStatus.complete, PacketStatus.partial)


class DocumentFormat(StrEnum):
    markdown = "markdown"
    json = "json"


class AnalysisFormat(StrEnum):
    json = "json"
    mermaid = "mermaid"


async def _incidents(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> list[Incident]:
    rows = {i.id: i for i in await session.scalars(sa.select(Incident).where(col(Incident.id).in_(incident_ids)))}
    return [rows[incident_id] for incident_id in incident_ids if incident_id in rows]


async def _newest_assembled(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, EventPacket]:
    """Each incident's newest complete or partial packet: a rebuild still in flight does not blank the timeline."""
    newest = (sa.select(col(EventPacket.incident_id), sa.func.max(col(EventPacket.version)).label("version"))
              .where(col(EventPacket.incident_id).in_(incident_ids), col(EventPacket.status).in_(ASSEMBLED))
              .group_by(col(EventPacket.incident_id)).subquery())
    packets = await session.scalars(sa.select(EventPacket).join(newest, sa.and_(
        col(EventPacket.incident_id) == newest.c.incident_id, col(EventPacket.version) == newest.c.version)))
    return {packet.incident_id: packet for packet in packets}


def postmortem_url(settings: Settings, postmortem_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/postmortems/{postmortem_id}"


async def postmortem_document(session: AsyncSession, *, postmortem_id: uuid.UUID, settings: Settings,
                              gate: IntegrationGate) -> tuple[PostmortemDocument, str | None]:
    """The postmortem as one document, and its analysis graph as Mermaid (None without a graph)."""
    detail = await views.postmortem_detail(session, postmortem_id=postmortem_id, settings=settings, gate=gate)
    incidents = await _incidents(session, detail.incident_ids)
    packets = await _newest_assembled(session, detail.incident_ids)
    document = build_document(detail, incidents=incidents, packets=packets,
                              url=postmortem_url(settings, postmortem_id))
    graph = detail.analysis.model_dump(by_alias=True) if detail.analysis and detail.analysis.nodes else None
    return document, analysis_flowchart(graph, title=detail.title) if graph else None


async def markdown_document(session: AsyncSession, *, postmortem_id: uuid.UUID, settings: Settings,
                            gate: IntegrationGate) -> str:
    """The postmortem as Markdown (seed 001's template)."""
    document, diagram = await postmortem_document(session, postmortem_id=postmortem_id, settings=settings, gate=gate)
    return render_markdown(document, diagram=diagram)


async def analysis_mermaid(session: AsyncSession, *, postmortem_id: uuid.UUID) -> str:
    """The analysis graph as a Mermaid flowchart (a note saying there is none yet, until it is set)."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id)
    return analysis_flowchart(postmortem.analysis, title=postmortem.title)
