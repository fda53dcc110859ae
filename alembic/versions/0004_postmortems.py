"""postmortems: postmortems, the incidents they cover, findings with tags, action items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "postmortems",
        sa.Column("id", sa.Uuid()),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("framework", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("facilitator", sa.String(200)),
        sa.Column("participants", JSON, nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("what_went_well", sa.Text()),
        sa.Column("what_could_improve", sa.Text()),
        sa.Column("lessons", sa.Text()),
        sa.Column("similar_incidents_reviewed", sa.Boolean(), nullable=False),
        sa.Column("analysis", JSON),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME),
        sa.Column("published_at", TIME),
        sa.Column("closed_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_postmortems"),
    )
    op.create_index("ix_postmortems_created_id", "postmortems", ["created_at", "id"])
    op.create_index("ix_postmortems_status", "postmortems", ["status"])
    op.create_table(
        "postmortem_incidents",
        sa.Column("postmortem_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("postmortem_id", "incident_id", name="pk_postmortem_incidents"),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"],
                                name="fk_postmortem_incidents_postmortem_id_postmortems", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name="fk_postmortem_incidents_incident_id_incidents", ondelete="CASCADE"),
    )
    op.create_index("ix_postmortem_incidents_incident_id", "postmortem_incidents", ["incident_id"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Uuid()),
        sa.Column("postmortem_id", sa.Uuid(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("impact", sa.String(10), nullable=False),
        sa.Column("effort", sa.String(10), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("systemic", sa.Boolean(), nullable=False),
        sa.Column("proposal", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"], name="fk_findings_postmortem_id_postmortems",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_findings_category", "findings", ["category"])
    op.create_index("ix_findings_created_id", "findings", ["created_at", "id"])
    op.create_index("ix_findings_postmortem_id", "findings", ["postmortem_id"])
    op.create_table(
        "finding_tags",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("finding_id", "tag", name="pk_finding_tags"),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name="fk_finding_tags_finding_id_findings",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_finding_tags_tag", "finding_tags", ["tag"])
    op.create_table(
        "action_items",
        sa.Column("id", sa.Uuid()),
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("durability", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("completion_notes", sa.Text()),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME),
        sa.Column("completed_at", TIME),
        sa.Column("closed_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_action_items"),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name="fk_action_items_finding_id_findings",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_action_items_created_id", "action_items", ["created_at", "id"])
    op.create_index("ix_action_items_due_date", "action_items", ["due_date"])
    op.create_index("ix_action_items_finding_id", "action_items", ["finding_id"])
    op.create_index("ix_action_items_owner", "action_items", ["owner"])
    op.create_index("ix_action_items_status", "action_items", ["status"])


def downgrade() -> None:
    op.drop_table("action_items")
    op.drop_table("finding_tags")
    op.drop_table("findings")
    op.drop_table("postmortem_incidents")
    op.drop_table("postmortems")
