"""Findings: agreed statements of what contributed, and the knowledge base that searches them.

Findings change with their postmortem: once it is closed they refuse changes (409),
since the gate passed on exactly these findings. The postmortem row is locked for
each change so that a concurrent close sees either all of it or none.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.pagination import Page, paginate
from app.models import audit
from app.models.postmortems import ActionItem, Finding, FindingTag
from app.postmortems.changes import apply_changes, record_update
from app.postmortems.reads import get_finding, get_postmortem, tags_for
from app.postmortems.schemas import normalise_tag
from app.postmortems.service import ensure_open


async def _replace_tags(session: AsyncSession, finding_id: uuid.UUID, tags: Sequence[str]) -> None:
    await session.execute(sa.delete(FindingTag).where(col(FindingTag.finding_id) == finding_id))
    session.add_all(FindingTag(finding_id=finding_id, tag=tag) for tag in tags)


async def create_finding(session: AsyncSession, *, postmortem_id: uuid.UUID, fields: dict[str, Any],
                         actor: str) -> Finding:
    """Add a finding to a postmortem that is not closed; `fields["tags"]` are already normalised."""
    postmortem = await get_postmortem(session, postmortem_id=postmortem_id, lock=True)
    ensure_open(postmortem)
    fields = dict(fields)
    tags = fields.pop("tags", [])
    finding = Finding(postmortem_id=postmortem.id, **fields)
    session.add(finding)
    await session.flush()
    await _replace_tags(session, finding.id, tags)
    audit.record(session, actor=actor, action="finding.created", entity="finding", entity_id=finding.id,
                 diff={"postmortem_id": str(postmortem.id), "category": finding.category, "tags": list(tags),
                       "decision": finding.decision, "impact": finding.impact, "effort": finding.effort})
    return finding


async def update_finding(session: AsyncSession, *, finding_id: uuid.UUID, changes: dict[str, Any],
                         actor: str) -> Finding:
    """Change the given fields of a finding; `tags` replaces its tags. 409 once its postmortem is closed."""
    finding = await get_finding(session, finding_id=finding_id)
    ensure_open(await get_postmortem(session, postmortem_id=finding.postmortem_id, lock=True))
    changes = dict(changes)
    diff = {}
    if "tags" in changes:
        wanted = list(changes.pop("tags"))
        current = (await tags_for(session, finding_ids=[finding.id])).get(finding.id, [])
        if sorted(wanted) != current:
            await _replace_tags(session, finding.id, wanted)
            diff["tags"] = {"from": current, "to": sorted(wanted)}
    diff |= apply_changes(finding, changes)
    record_update(session, finding, entity="finding", diff=diff, actor=actor)
    return finding


async def delete_finding(session: AsyncSession, *, finding_id: uuid.UUID, actor: str) -> None:
    """Delete a finding with its tags and action items. 409 once its postmortem is closed."""
    finding = await get_finding(session, finding_id=finding_id)
    ensure_open(await get_postmortem(session, postmortem_id=finding.postmortem_id, lock=True))
    item_ids = list(await session.scalars(
        sa.select(col(ActionItem.id)).where(col(ActionItem.finding_id) == finding.id)))
    # Deleted explicitly rather than through the foreign keys' ON DELETE CASCADE, so that the
    # audit entry and the database agree whatever the backend's foreign key enforcement.
    await session.execute(sa.delete(ActionItem).where(col(ActionItem.finding_id) == finding.id))
    await session.execute(sa.delete(FindingTag).where(col(FindingTag.finding_id) == finding.id))
    await session.delete(finding)
    audit.record(session, actor=actor, action="finding.deleted", entity="finding", entity_id=finding.id,
                 diff={"postmortem_id": str(finding.postmortem_id), "statement": finding.statement,
                       "action_item_ids": [str(i) for i in item_ids]})


def _contains(column: Any, text: str) -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


async def list_findings(session: AsyncSession, *, tag: str | None = None, category: str | None = None,
                        q: str | None = None, decision: str | None = None, postmortem_id: uuid.UUID | None = None,
                        limit: int = 50, cursor: str | None = None) -> Page[Finding]:
    """The knowledge base: findings across postmortems, newest first.

    `tag` is normalised as stored tags are (`#Config Management` finds `config-management`);
    `q` matches the statement or the proposal, case-insensitively.
    """
    query = sa.select(Finding)
    if tag is not None:
        tagged = sa.select(col(FindingTag.finding_id)).where(col(FindingTag.tag) == normalise_tag(tag))
        query = query.where(col(Finding.id).in_(tagged))
    if category:
        query = query.where(col(Finding.category) == category)
    if decision:
        query = query.where(col(Finding.decision) == decision)
    if postmortem_id:
        query = query.where(col(Finding.postmortem_id) == postmortem_id)
    if q and q.strip():
        query = query.where(sa.or_(_contains(col(Finding.statement), q.strip()), _contains(col(Finding.proposal),
                                                                                           q.strip())))
    return await paginate(session, query, order=(col(Finding.created_at), col(Finding.id)), limit=limit, cursor=cursor)
