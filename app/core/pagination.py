"""Keyset pagination: `limit` and an opaque `cursor`, newest first."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadRequest

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, columns: tuple[Any, ...]) -> list[Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(columns):
            raise ValueError("wrong length")
        values = []
        for value, column in zip(plain, columns, strict=True):
            python_type = getattr(column.type, "impl", column.type).python_type
            if python_type is datetime:
                value = datetime.fromisoformat(value)
            elif python_type is uuid.UUID:
                value = uuid.UUID(value)
            values.append(value)
        return values
    except (ValueError, TypeError) as exc:
        raise BadRequest("The cursor is not one this API gave out.", details={"cursor": cursor}) from exc


async def paginate(session: AsyncSession, query: Select[T], *, order: tuple[Any, ...], limit: int,
                   cursor: str | None) -> Page[T]:
    """One page of `query` ordered by `order` descending; `order` must end with a unique column."""
    if cursor:
        values = _decode(cursor, order)
        bound = sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(values, order, strict=True)))
        query = query.where(sa.tuple_(*order) < bound)
    rows = list(await session.scalars(query.order_by(*(c.desc() for c in order)).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], _encode([getattr(last, c.key) for c in order]))
