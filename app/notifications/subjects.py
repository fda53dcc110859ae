"""How the things events are about appear in an event: their data and the facets subscriptions filter on."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models.incidents import Incident
from app.models.postmortems import ActionItem, Finding, FindingTag, Postmortem, PostmortemIncident
from app.notifications.outbox import Facets


def incident_data(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "external_id": incident.external_id, "title": incident.title,
            "service_id": incident.service_id, "service_name": incident.service_name,
            "teams": incident.teams, "severity": incident.severity, "status": incident.status,
            "triggered_at": incident.triggered_at, "resolved_at": incident.resolved_at,
            "html_url": incident.html_url}


def incident_facets(incidents: Sequence[Incident], *, categories: Sequence[str] = ()) -> Facets:
    teams = [part for i in incidents for t in i.teams for part in (t.get("id"), t.get("name"))]
    return Facets.of(services=[s for i in incidents for s in (i.service_id, i.service_name)], teams=teams,
                     severities=[i.severity for i in incidents], categories=categories)


async def postmortem_incidents(session: AsyncSession, postmortem_id: Any) -> list[Incident]:
    return list(await session.scalars(
        sa.select(Incident).join(PostmortemIncident, col(PostmortemIncident.incident_id) == col(Incident.id))
        .where(col(PostmortemIncident.postmortem_id) == postmortem_id).order_by(col(PostmortemIncident.position))))


async def postmortem_categories(session: AsyncSession, postmortem_id: Any) -> list[str]:
    return list(await session.scalars(
        sa.select(col(Finding.category)).where(col(Finding.postmortem_id) == postmortem_id).distinct()))


async def postmortem_subject(session: AsyncSession, postmortem: Postmortem) -> tuple[dict[str, Any], Facets]:
    """A postmortem's event data and facets (its incidents' services, teams, severities; its categories)."""
    incidents = await postmortem_incidents(session, postmortem.id)
    categories = await postmortem_categories(session, postmortem.id)
    data = {"id": postmortem.id, "title": postmortem.title, "status": postmortem.status,
            "published_at": postmortem.published_at, "closed_at": postmortem.closed_at,
            "incidents": [incident_data(i) for i in incidents], "categories": categories}
    return data, incident_facets(incidents, categories=categories)


async def action_item_subject(session: AsyncSession, item: ActionItem) -> tuple[dict[str, Any], Facets]:
    """An action item's event data (with its finding and postmortem) and facets."""
    finding = await session.get_one(Finding, item.finding_id)
    postmortem = await session.get_one(Postmortem, finding.postmortem_id)
    tags = list(await session.scalars(sa.select(col(FindingTag.tag)).where(col(FindingTag.finding_id) == finding.id)))
    incidents = await postmortem_incidents(session, postmortem.id)
    data = {"id": item.id, "title": item.title, "owner": item.owner, "priority": item.priority,
            "due_date": item.due_date, "status": item.status, "durability": item.durability,
            "created_at": item.created_at,
            "finding": {"id": finding.id, "statement": finding.statement, "category": finding.category, "tags": tags},
            "postmortem": {"id": postmortem.id, "title": postmortem.title}}
    return data, incident_facets(incidents, categories=[finding.category])
