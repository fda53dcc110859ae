"""Action items: the work that answers a finding, tracked until completed or wont_do.

Work goes on after a postmortem closes, so items of a closed postmortem may still be
added and updated; they may not be deleted (mark them wont_do: the closed record
and the metrics keep them). Once an item has a Jira ticket, Jira owns its status.
"""

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import clock
from app.core.pagination import Page, paginate
from app.models import audit
from app.models.incidents import Incident, of_service
from app.models.postmortems import (
    CLOSED_STATUSES,
    ActionItem,
    ActionItemStatus,
    Finding,
    PostmortemIncident,
    overdue_condition,
)
from app.models.tickets import JIRA_OWNED
from app.postmortems.changes import apply_changes, jsonable, record_update
from app.postmortems.errors import StatusOwnedByJira
from app.postmortems.reads import (
    get_action_item,
    get_finding,
    get_postmortem,
    tickets_for,
)
from app.postmortems.service import ensure_open


def today() -> date:
    """Today in UTC: the day against which due dates are overdue."""
    return clock.now().date()


async def create_action_item(session: AsyncSession, *, finding_id: uuid.UUID, fields: dict[str, Any],
                             actor: str) -> ActionItem:
    """Add an open action item to a finding."""
    finding = await get_finding(session, finding_id=finding_id)
    await get_postmortem(session, postmortem_id=finding.postmortem_id, lock=True)  # serialise with a close
    item = ActionItem(finding_id=finding.id, status=ActionItemStatus.open, escalation_level=0, **fields)
    session.add(item)
    await session.flush()
    audit.record(session, actor=actor, action="action_item.created", entity="action_item", entity_id=item.id,
                 diff={"finding_id": str(finding.id), **{k: jsonable(v) for k, v in fields.items()}})
    return item


def status_changes(item: ActionItem, status: str) -> dict[str, Any]:
    """The timestamps that follow a status change: completed_at for completed only, closed_at for
    completed or wont_do (kept when moving between the two), both cleared on reopen."""
    if status == item.status:
        return {}
    now = clock.now()
    if status not in CLOSED_STATUSES:
        closed_at = None
    elif item.status in CLOSED_STATUSES and item.closed_at is not None:
        closed_at = item.closed_at  # completed ↔ wont_do: it has been closed since then
    else:
        closed_at = now
    return {"status": status, "completed_at": now if status == ActionItemStatus.completed else None,
            "closed_at": closed_at}


async def update_action_item(session: AsyncSession, *, action_item_id: uuid.UUID, changes: dict[str, Any],
                             actor: str) -> ActionItem:
    """Change the given fields; a status change records completed_at/closed_at as DESIGN §10 says."""
    item = await get_action_item(session, action_item_id=action_item_id)
    finding = await get_finding(session, finding_id=item.finding_id)
    await get_postmortem(session, postmortem_id=finding.postmortem_id, lock=True)
    changes = dict(changes)
    if "status" in changes:
        ticket = (await tickets_for(session, action_item_ids=[item.id])).get(item.id)
        if ticket is not None and ticket.state in JIRA_OWNED and changes["status"] != item.status:
            raise StatusOwnedByJira(f"Action item {item.id} has Jira ticket {ticket.jira_key}: its status follows "
                                    "the ticket in Jira.", details={"jira_key": ticket.jira_key})
        changes |= status_changes(item, changes.pop("status"))
    record_update(session, item, entity="action_item", diff=apply_changes(item, changes), actor=actor)
    return item


async def delete_action_item(session: AsyncSession, *, action_item_id: uuid.UUID, actor: str) -> None:
    """Delete an action item; 409 once its postmortem is closed."""
    item = await get_action_item(session, action_item_id=action_item_id)
    finding = await get_finding(session, finding_id=item.finding_id)
    ensure_open(await get_postmortem(session, postmortem_id=finding.postmortem_id, lock=True))
    await session.delete(item)
    audit.record(session, actor=actor, action="action_item.deleted", entity="action_item", entity_id=item.id,
                 diff={"finding_id": str(item.finding_id), "title": item.title, "status": item.status})


async def list_action_items(
    session: AsyncSession, *, owner: str | None = None, status: str | None = None, priority: str | None = None,
    overdue: bool | None = None, service: str | None = None, limit: int = 50, cursor: str | None = None,
) -> Page[ActionItem]:
    """Action items, newest first. `service` is the PagerDuty service id or name of any incident
    of the item's postmortem; `overdue` compares due dates with today in UTC."""
    query = sa.select(ActionItem)
    if owner:
        query = query.where(col(ActionItem.owner) == owner)
    if status:
        query = query.where(col(ActionItem.status) == status)
    if priority:
        query = query.where(col(ActionItem.priority) == priority)
    if overdue is not None:
        late = overdue_condition(today())
        query = query.where(late if overdue else sa.not_(late))
    if service:
        postmortems = (sa.select(col(PostmortemIncident.postmortem_id))
                       .join(Incident, col(Incident.id) == col(PostmortemIncident.incident_id))
                       .where(of_service(service)))
        findings = sa.select(col(Finding.id)).where(col(Finding.postmortem_id).in_(postmortems))
        query = query.where(col(ActionItem.finding_id).in_(findings))
    return await paginate(session, query, order=(col(ActionItem.created_at), col(ActionItem.id)), limit=limit,
                          cursor=cursor)
