"""tickets: the Jira outbox (one row per action item) and periodic job marks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid()),
        sa.Column("action_item_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("jira_key", sa.String(50)),
        sa.Column("jira_id", sa.String(50)),
        sa.Column("url", sa.Text()),
        sa.Column("status_category", sa.String(20)),
        sa.Column("resolution", sa.String(100)),
        sa.Column("jira_updated_at", TIME),
        sa.Column("remote_link_added", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME),
        sa.Column("lease_until", TIME),
        sa.Column("last_error", sa.Text()),
        sa.Column("duplicate_keys", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.ForeignKeyConstraint(["action_item_id"], ["action_items.id"], name="fk_tickets_action_item_id_action_items",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("action_item_id", name="uq_tickets_action_item_id"),
    )
    op.create_index("ix_tickets_jira_key", "tickets", ["jira_key"])
    op.create_index("ix_tickets_jira_id", "tickets", ["jira_id"])
    op.create_index("ix_tickets_state_next_attempt", "tickets", ["state", "next_attempt_at"])
    op.create_table(
        "job_marks",
        sa.Column("name", sa.String(100)),
        sa.Column("value", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_job_marks"),
    )


def downgrade() -> None:
    op.drop_table("job_marks")
    op.drop_table("tickets")
