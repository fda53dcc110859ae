"""Assembling one packet version: claim it, gather the facts, store it once.

The PagerDuty reads happen between two short transactions, never inside one.
"""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock, events
from app.core.db import lock_for_update
from app.core.dml import rowcount
from app.core.vendors import PagerDutyReads
from app.incidents.service import history
from app.integrations.pagerduty.client import FetchError
from app.models.incidents import Incident
from app.models.packets import FINISHED, EventPacket, PacketStatement, PacketStatus
from app.models.postmortems import (
    OPEN_STATUSES,
    ActionItem,
    Finding,
    PostmortemIncident,
)
from app.packets.content import ApiFacts, PacketInputs, build_content
from app.packets.events import PacketAssembled


def canonical_sha256(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(session: AsyncSession, *, packet_id: uuid.UUID) -> EventPacket | None:
    """The packet, now `assembling`; None when another run already finished it."""
    query = lock_for_update(session, sa.select(EventPacket).where(col(EventPacket.id) == packet_id))
    packet = await session.scalar(query)
    if packet is None or packet.status in FINISHED:
        return None
    packet.status = PacketStatus.assembling
    packet.attempts += 1
    return packet


async def gather_inputs(session: AsyncSession, *, packet: EventPacket, lookback_days: int) -> PacketInputs:
    """Everything the database knows: the incident, its webhook history, statements, similar incidents."""
    incident = await session.get_one(Incident, packet.incident_id)
    statements = await session.scalars(
        sa.select(PacketStatement).where(col(PacketStatement.incident_id) == incident.id,
                                         col(PacketStatement.created_at) <= packet.requested_at)
        .order_by(col(PacketStatement.created_at)))
    return PacketInputs(
        incident=incident.model_dump(),
        events=await history(session, incident.id),
        statements=[{"author": s.author, "text": s.text, "at": s.created_at.isoformat()} for s in statements],
        similar_incidents=await similar_incidents(session, incident=incident, lookback=timedelta(days=lookback_days)),
    )


async def similar_incidents(session: AsyncSession, *, incident: Incident, lookback: timedelta) -> list[dict[str, Any]]:
    """Earlier incidents with the same fingerprint inside the lookback window, newest first, each with
    its postmortem and the action items that are still open (and those overdue) — the known, late fixes."""
    if incident.triggered_at is None:
        return []
    others = list(await session.scalars(
        sa.select(Incident).where(col(Incident.fingerprint) == incident.fingerprint, col(Incident.id) != incident.id,
                                  col(Incident.triggered_at) >= incident.triggered_at - lookback,
                                  col(Incident.triggered_at) <= incident.triggered_at)
        .order_by(col(Incident.triggered_at).desc())))
    postmortems = dict((await session.execute(
        sa.select(col(PostmortemIncident.incident_id), col(PostmortemIncident.postmortem_id))
        .where(col(PostmortemIncident.incident_id).in_([other.id for other in others]))
        .order_by(col(PostmortemIncident.postmortem_id)))).all()) if others else {}
    open_items: Iterable[Row[uuid.UUID, ActionItem]] = await session.execute(
        sa.select(col(Finding.postmortem_id), ActionItem)
        .join(ActionItem, col(ActionItem.finding_id) == col(Finding.id))
        .where(col(Finding.postmortem_id).in_(set(postmortems.values())), col(ActionItem.status).in_(OPEN_STATUSES))
        .order_by(col(ActionItem.due_date), col(ActionItem.id))) if postmortems else []
    by_postmortem: dict[uuid.UUID, list[ActionItem]] = {}
    for item_postmortem_id, item in open_items:
        by_postmortem.setdefault(item_postmortem_id, []).append(item)
    today = clock.now().date()

    def summary(item: ActionItem) -> dict[str, Any]:
        return {"id": str(item.id), "title": item.title, "owner": item.owner, "priority": item.priority,
                "due_date": item.due_date.isoformat(), "status": item.status}

    similar = []
    for other in others:
        assert other.triggered_at is not None  # the WHERE compares it with the window
        postmortem_id = postmortems.get(other.id)
        items = by_postmortem.get(postmortem_id, []) if postmortem_id is not None else []
        similar.append({
            "incident_id": str(other.id), "external_id": other.external_id, "title": other.title,
            "triggered_at": other.triggered_at.isoformat(),
            "postmortem_id": str(postmortem_id) if postmortem_id else None,
            "open_action_items": [summary(item) for item in items],
            "overdue_action_items": [summary(item) for item in items if item.due_date < today],
        })
    return similar


async def fetch_api_facts(reader: PagerDutyReads | None, external_id: str) -> tuple[ApiFacts, list[dict[str, str]]]:
    """Incident, log entries, alerts and notes, read concurrently; what could not be read becomes a gap."""
    if reader is None:
        return ApiFacts(), [{"source": "pagerduty_api", "what": "incident, log entries, alerts, notes",
                             "reason": "no API token configured (LOOPGATE_PAGERDUTY_API_TOKEN): "
                                       "built from webhook data alone"}]

    async def whole(name: str, read: Any) -> tuple[Any, str | None]:
        try:
            return await read, None
        except FetchError as exc:
            return None, str(exc)

    base = f"/incidents/{external_id}"
    (incident, incident_gap), (log_entries, log_gap), (alerts, alert_gap), (notes, notes_gap) = await asyncio.gather(
        whole("incident", reader.incident(external_id)),
        reader.pages(f"{base}/log_entries", "log_entries", {"include[]": "channels"}),
        reader.pages(f"{base}/alerts", "alerts"),
        whole("notes", reader.notes(external_id)),
    )
    gaps = [{"source": "pagerduty_api", "what": what, "reason": reason}
            for what, reason in (("incident", incident_gap), ("log_entries", log_gap), ("alerts", alert_gap),
                                 ("notes", notes_gap)) if reason]
    return ApiFacts(incident=incident, log_entries=log_entries, alerts=alerts, notes=notes), gaps


async def finish(session: AsyncSession, *, packet_id: uuid.UUID, inputs: PacketInputs) -> bool:
    """Store the content once; False when another run stored it first."""
    content = build_content(inputs)
    status = PacketStatus.partial if inputs.gaps else PacketStatus.complete
    result = await session.execute(
        sa.update(EventPacket)
        .where(col(EventPacket.id) == packet_id, col(EventPacket.status).not_in(FINISHED))
        .values(status=status, content=content, sha256=canonical_sha256(content), assembled_at=clock.now(),
                last_error=None)
    )
    if rowcount(result) != 1:
        return False
    packet = await session.get_one(EventPacket, packet_id)
    await events.publish(session, PacketAssembled(packet_id, packet.incident_id, packet.version, status))
    return True


async def record_failure(session: AsyncSession, *, packet_id: uuid.UUID, error: str, max_attempts: int) -> None:
    """Keep the error on the row; after the last attempt the version is `failed`."""
    packet = await session.get(EventPacket, packet_id)
    if packet is None or packet.status in FINISHED:
        return
    packet.last_error = error[:4000]
    if packet.attempts >= max_attempts:
        packet.status = PacketStatus.failed
