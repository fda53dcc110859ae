"""packets: Event Packet versions and stakeholder statements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_packets",
        sa.Column("id", sa.Uuid()),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("assembled_at", TIME),
        sa.Column("sla_due_at", TIME),
        sa.Column("sha256", sa.String(64)),
        sa.Column("content", JSON),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_event_packets"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_event_packets_incident_id_incidents",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("incident_id", "version", name="uq_event_packets_incident_id_version"),
    )
    op.create_index("ix_event_packets_status", "event_packets", ["status"])
    op.create_table(
        "packet_statements",
        sa.Column("id", sa.Uuid()),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_packet_statements"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_packet_statements_incident_id_incidents",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_packet_statements_incident_id", "packet_statements", ["incident_id"])


def downgrade() -> None:
    op.drop_table("packet_statements")
    op.drop_table("event_packets")
