"""repeat_relinks: durable requests to recompute a fingerprint's repeats

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "repeat_relinks",
        sa.Column("fingerprint", sa.String(500)),
        sa.Column("around", TIME),
        sa.Column("token", sa.Uuid(), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "around", name="pk_repeat_relinks"),
    )


def downgrade() -> None:
    op.drop_table("repeat_relinks")
