"""Reading postmortem rows: one row by id (or 404), and the rows hanging off a batch of parents.

Relations are read with explicit batched queries rather than ORM lazy loading, which
cannot run implicitly under asyncio.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.db import lock_for_update
from app.core.errors import NotFound
from app.models.postmortems import (
    ActionItem,
    Finding,
    FindingTag,
    Postmortem,
    PostmortemIncident,
)
from app.models.tickets import Ticket


async def _one(session: AsyncSession, model: Any, row_id: uuid.UUID, *, lock: bool, what: str) -> Any:
    query = sa.select(model).where(model.id == row_id)
    if lock:
        query = lock_for_update(session, query).execution_options(populate_existing=True)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No {what} {row_id}.")
    return row


async def get_postmortem(session: AsyncSession, *, postmortem_id: uuid.UUID, lock: bool = False) -> Postmortem:
    """A postmortem or 404; `lock` holds its row until commit (PostgreSQL), serialising changes to it."""
    return await _one(session, Postmortem, postmortem_id, lock=lock, what="postmortem")


async def get_finding(session: AsyncSession, *, finding_id: uuid.UUID) -> Finding:
    """A finding or 404."""
    return await _one(session, Finding, finding_id, lock=False, what="finding")


async def get_action_item(session: AsyncSession, *, action_item_id: uuid.UUID) -> ActionItem:
    """An action item or 404."""
    return await _one(session, ActionItem, action_item_id, lock=False, what="action item")


async def incident_ids_for(session: AsyncSession, *,
                           postmortem_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each postmortem's incident ids, in the order the author gave them."""
    rows = await session.execute(
        sa.select(col(PostmortemIncident.postmortem_id), col(PostmortemIncident.incident_id))
        .where(col(PostmortemIncident.postmortem_id).in_(postmortem_ids))
        .order_by(col(PostmortemIncident.postmortem_id), col(PostmortemIncident.position))
    )
    by_postmortem: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for postmortem_id, incident_id in rows:
        by_postmortem[postmortem_id].append(incident_id)
    return by_postmortem


async def findings_of(session: AsyncSession, *, postmortem_id: uuid.UUID) -> list[Finding]:
    """A postmortem's findings, oldest first (the order they were agreed)."""
    return list(await session.scalars(
        sa.select(Finding).where(col(Finding.postmortem_id) == postmortem_id).order_by(col(Finding.created_at),
                                                                                       col(Finding.id))
    ))


async def tags_for(session: AsyncSession, *, finding_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Each finding's tags, alphabetically."""
    rows = await session.execute(
        sa.select(col(FindingTag.finding_id), col(FindingTag.tag)).where(col(FindingTag.finding_id).in_(finding_ids))
        .order_by(col(FindingTag.finding_id), col(FindingTag.tag))
    )
    by_finding: dict[uuid.UUID, list[str]] = defaultdict(list)
    for finding_id, tag in rows:
        by_finding[finding_id].append(tag)
    return by_finding


async def action_items_for(session: AsyncSession, *,
                           finding_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ActionItem]]:
    """Each finding's action items, oldest first."""
    items = await session.scalars(
        sa.select(ActionItem).where(col(ActionItem.finding_id).in_(finding_ids))
        .order_by(col(ActionItem.created_at), col(ActionItem.id))
    )
    by_finding: dict[uuid.UUID, list[ActionItem]] = defaultdict(list)
    for item in items:
        by_finding[item.finding_id].append(item)
    return by_finding


async def postmortem_ids_for(session: AsyncSession, *,
                             finding_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The postmortem of each finding."""
    rows = await session.execute(sa.select(col(Finding.id),
                                           col(Finding.postmortem_id)).where(col(Finding.id).in_(finding_ids)))
    return {finding_id: postmortem_id for finding_id, postmortem_id in rows}


async def tickets_for(session: AsyncSession, *, action_item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
    """The Jira ticket of each action item that has one."""
    if not action_item_ids:
        return {}
    rows = await session.scalars(sa.select(Ticket).where(col(Ticket.action_item_id).in_(list(action_item_ids))))
    return {ticket.action_item_id: ticket for ticket in rows}


@dataclass
class PostmortemRecord:
    """A postmortem with everything hanging off it, read once for the detail view."""

    postmortem: Postmortem
    incident_ids: list[uuid.UUID]
    findings: list[Finding]
    tags: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    action_items: dict[uuid.UUID, list[ActionItem]] = field(default_factory=dict)  # by finding id
    tickets: dict[uuid.UUID, Ticket] = field(default_factory=dict)  # by action item id


async def load_record(session: AsyncSession, *, postmortem: Postmortem) -> PostmortemRecord:
    """Read the postmortem's incidents, findings, tags, action items and tickets."""
    incident_ids = (await incident_ids_for(session, postmortem_ids=[postmortem.id])).get(postmortem.id, [])
    findings = await findings_of(session, postmortem_id=postmortem.id)
    finding_ids = [finding.id for finding in findings]
    items = await action_items_for(session, finding_ids=finding_ids)
    tickets = await tickets_for(session, action_item_ids=[item.id for group in items.values() for item in group])
    return PostmortemRecord(postmortem, incident_ids, findings, await tags_for(session, finding_ids=finding_ids),
                            items, tickets)
