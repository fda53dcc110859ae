"""incidents: the incident record, its event history and its teams

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid()),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("number", sa.Integer()),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("service_id", sa.String(100)),
        sa.Column("service_name", sa.String(300)),
        sa.Column("teams", JSON, nullable=False),
        sa.Column("assignees", JSON, nullable=False),
        sa.Column("urgency", sa.String(20)),
        sa.Column("priority", sa.String(50)),
        sa.Column("severity", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("triggered_at", TIME),
        sa.Column("acknowledged_at", TIME),
        sa.Column("resolved_at", TIME),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("incident_key", sa.Text()),
        sa.Column("fingerprint", sa.String(500)),
        sa.Column("repeat_of_id", sa.Uuid()),
        sa.Column("merged_into_external_id", sa.String(100)),
        sa.Column("reported_by", sa.String(20)),
        sa.Column("html_url", sa.Text()),
        sa.Column("last_event_at", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.ForeignKeyConstraint(["repeat_of_id"], ["incidents.id"], name="fk_incidents_repeat_of_id_incidents",
                                ondelete="SET NULL"),
        sa.UniqueConstraint("source", "external_id", name="uq_incidents_source_external_id"),
    )
    op.create_index("ix_incidents_fingerprint_triggered", "incidents", ["fingerprint", "triggered_at"])
    op.create_index("ix_incidents_service_id", "incidents", ["service_id"])
    op.create_index("ix_incidents_service_name", "incidents", ["service_name"])
    op.create_index("ix_incidents_severity", "incidents", ["severity"])
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_triggered_id", "incidents", ["triggered_at", "id"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Uuid()),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("agent", JSON),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_events_incident_id_incidents",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("event_id", name="uq_incident_events_event_id"),
    )
    op.create_index("ix_incident_events_incident_occurred", "incident_events", ["incident_id", "occurred_at"])
    op.create_table(
        "incident_teams",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.String(100), nullable=False),
        sa.Column("team_name", sa.String(300)),
        sa.PrimaryKeyConstraint("incident_id", "team_id", name="pk_incident_teams"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_teams_incident_id_incidents",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_incident_teams_team_name", "incident_teams", ["team_name"])


def downgrade() -> None:
    op.drop_table("incident_teams")
    op.drop_table("incident_events")
    op.drop_table("incidents")
