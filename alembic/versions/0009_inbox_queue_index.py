"""inbox queue index: the unhandled rows alone, in claim order

The claim (`app.inbound.service.claim_batch`) takes the oldest unhandled rows by
(received_at, id). Over (handled_at, received_at) it read and sorted every unhandled row
per batch, so a backlog cost more per batch the longer it was; a partial index of the
unhandled rows in claim order is read from its start and stops at the batch's size, and
stays as small as the backlog (handled rows leave it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UNHANDLED = sa.text("handled_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_inbound_events_unhandled", table_name="inbound_events")
    op.create_index("ix_inbound_events_unhandled", "inbound_events", ["received_at", "id"],
                    postgresql_where=UNHANDLED, sqlite_where=UNHANDLED)


def downgrade() -> None:
    op.drop_index("ix_inbound_events_unhandled", table_name="inbound_events")
    op.create_index("ix_inbound_events_unhandled", "inbound_events", ["handled_at", "received_at"])
