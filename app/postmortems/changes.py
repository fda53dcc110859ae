"""Apply a partial update to a row and describe it for the audit trail."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.models import audit


def jsonable(value: Any) -> Any:
    """A value as the audit trail's JSON stores it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def apply_changes(row: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Set each changed attribute; returns `{field: {"from", "to"}}` for the fields that really changed."""
    diff = {}
    for name, value in changes.items():
        old = getattr(row, name)
        if old != value:
            setattr(row, name, value)
            diff[name] = {"from": jsonable(old), "to": jsonable(value)}
    return diff


def record_update(session: AsyncSession, row: Any, *, entity: str, diff: dict[str, Any], actor: str) -> None:
    """When `diff` says something changed: stamp `updated_at` and write `<entity>.updated` to the audit trail."""
    if diff:
        row.updated_at = clock.now()
        audit.record(session, actor=actor, action=f"{entity}.updated", entity=entity, entity_id=row.id, diff=diff)
