"""notifications: subscriptions, deliveries (the outbound outbox), announcements made once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid()),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("services", JSON, nullable=False),
        sa.Column("teams", JSON, nullable=False),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("severities", JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_created_id", "subscriptions", ["created_at", "id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid()),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("last_attempt_at", TIME),
        sa.Column("delivered_at", TIME),
        sa.Column("gave_up_at", TIME),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name="fk_deliveries_subscription_id_subscriptions", ondelete="CASCADE"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_deliveries_subscription_id_event_id"),
    )
    op.create_index("ix_deliveries_status_next_attempt", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_subscription_created", "deliveries", ["subscription_id", "created_at", "id"])
    op.create_table(
        "announcements",
        sa.Column("kind", sa.String(50)),
        sa.Column("subject", sa.String(200)),
        sa.Column("level", sa.Integer()),
        sa.Column("announced_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "level", name="pk_announcements"),
    )


def downgrade() -> None:
    op.drop_table("announcements")
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
