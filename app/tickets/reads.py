"""Reading tickets for the views and the gate."""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.models import Ticket

# A ticket in these states owns the action item's status: Jira decides it.
JIRA_OWNED = ("created", "linked")


async def tickets_for(session: AsyncSession, *, action_item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Ticket]:
    if not action_item_ids:
        return {}
    rows = await session.scalars(sa.select(Ticket).where(Ticket.action_item_id.in_(list(action_item_ids))))
    return {ticket.action_item_id: ticket for ticket in rows}
