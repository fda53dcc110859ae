"""The gates as CI asks for them: gather the facts from the database, let the pure rules decide."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.config import Settings
from app.gates import GateResult, RequiredPostmortemFacts, ServiceActionItemFacts, evaluate_service
from app.incidents.models import Incident
from app.postmortems import gate
from app.postmortems.models import ActionItem, Finding, Postmortem, PostmortemIncident
from app.postmortems.reads import get_postmortem

# How far along a postmortem is: the most advanced one covering an incident counts.
PROGRESS = {"draft": 0, "in_review": 1, "published": 2, "closed": 3}


async def postmortem_gate(session: AsyncSession, *, postmortem_id: uuid.UUID,
                          settings: Settings) -> tuple[GateResult, datetime]:
    """The Integration Gate of one postmortem, evaluated now."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id)
    result = await gate.evaluate(session, postmortem=postmortem, settings=settings)
    return result, clock.now()


def _of_service(service: str) -> Any:
    return sa.or_(Incident.service_id == service, Incident.service_name == service)


async def service_gate(session: AsyncSession, *, service: str, settings: Settings) -> tuple[GateResult, datetime]:
    """The deploy gate of a service (PagerDuty service id or name): overdue P1 items, overdue postmortems."""
    now = clock.now()
    postmortems_of_service = (sa.select(PostmortemIncident.postmortem_id)
                              .join(Incident, Incident.id == PostmortemIncident.incident_id)
                              .where(_of_service(service)))
    items = await session.execute(
        sa.select(ActionItem.id, ActionItem.priority, ActionItem.status, ActionItem.due_date)
        .join(Finding, Finding.id == ActionItem.finding_id)
        .where(Finding.postmortem_id.in_(postmortems_of_service)))
    incidents = await session.execute(
        sa.select(Incident.id, Incident.resolved_at, Incident.severity, Postmortem.id, Postmortem.status)
        .outerjoin(PostmortemIncident, PostmortemIncident.incident_id == Incident.id)
        .outerjoin(Postmortem, Postmortem.id == PostmortemIncident.postmortem_id)
        .where(_of_service(service), Incident.resolved_at.is_not(None),
               Incident.merged_into_external_id.is_(None),
               Incident.severity.in_(settings.postmortem_required_severities)))
    required: dict[uuid.UUID, RequiredPostmortemFacts] = {}
    for incident_id, resolved_at, severity, postmortem_id, status in incidents:
        known = required.get(incident_id)
        if known is None or PROGRESS.get(status or "", -1) > PROGRESS.get(known.postmortem_status or "", -1):
            required[incident_id] = RequiredPostmortemFacts(
                str(incident_id), str(postmortem_id) if postmortem_id else None, status, resolved_at, severity)
    result = evaluate_service(
        service=service,
        action_items=[ServiceActionItemFacts(str(i), priority, status, due) for i, priority, status, due in items],
        required_postmortems=list(required.values()),
        today=now.date(), now=now, postmortem_due_days=settings.postmortem_due_days,
    )
    return result, now
