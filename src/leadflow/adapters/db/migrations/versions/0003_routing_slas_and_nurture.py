"""Routing, SLA clocks and nurture: team members, absences, lead routes, assignments, SLA
clocks, nurture enrollments and the outgoing message outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadflow.adapters.db.tables_base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_absences",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column(
            "starts_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "ends_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_absences")),
    )
    with op.batch_alter_table("member_absences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_absences_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column(
            "last_assigned_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("assigned_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "member_id", name=op.f("pk_team_members")),
    )
    op.create_table(
        "assignments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column(
            "at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("from_owner", sa.String(length=64), nullable=True),
        sa.Column("to_owner", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_assignments_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "lead_routes",
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("playbook_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column(
            "assigned_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_routes_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_routes")),
    )
    with op.batch_alter_table("lead_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_routes_open"), ["open"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_routes_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_routes_queue"), ["queue"], unique=False)

    op.create_table(
        "messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("msg_id", sa.String(length=60), nullable=False),
        sa.Column("lead_id", sa.String(length=100), nullable=True),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column(
            "enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "due_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("to_address", sa.String(length=400), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "lease_until",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "sent_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_messages_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_messages_msg_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_status"), ["status"], unique=False)

    op.create_table(
        "nurture_enrollments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("playbook_id", sa.String(length=100), nullable=False),
        sa.Column("track", sa.String(length=100), nullable=False),
        sa.Column("entry", sa.String(length=20), nullable=False),
        sa.Column(
            "entered_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("next_step", sa.Integer(), nullable=False),
        sa.Column(
            "next_due_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "ended_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.Column(
            "lease_until",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_nurture_enrollments_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nurture_enrollments")),
    )
    with op.batch_alter_table("nurture_enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nurture_enrollments_lead_id"), ["lead_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_nurture_enrollments_next_due_at"), ["next_due_at"], unique=False
        )

    op.create_table(
        "sla_clocks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("band", sa.String(length=100), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("sla", sa.String(length=60), nullable=False),
        sa.Column(
            "started_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "due_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "remind_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "reassign_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "reminded_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "breached_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.Column(
            "reassigned_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "stopped_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("stop_event_id", sa.String(length=200), nullable=True),
        sa.Column(
            "closed_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("closed_reason", sa.String(length=40), nullable=True),
        sa.Column(
            "next_check_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "lease_until",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_sla_clocks_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_clocks_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sla_clocks_next_check_at"), ["next_check_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_clocks_next_check_at"))
        batch_op.drop_index(batch_op.f("ix_sla_clocks_lead_id"))

    op.drop_table("sla_clocks")
    with op.batch_alter_table("nurture_enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nurture_enrollments_next_due_at"))
        batch_op.drop_index(batch_op.f("ix_nurture_enrollments_lead_id"))

    op.drop_table("nurture_enrollments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_status"))
        batch_op.drop_index(batch_op.f("ix_messages_lead_id"))
        batch_op.drop_index(batch_op.f("ix_messages_due_at"))

    op.drop_table("messages")
    with op.batch_alter_table("lead_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_routes_queue"))
        batch_op.drop_index(batch_op.f("ix_lead_routes_owner"))
        batch_op.drop_index(batch_op.f("ix_lead_routes_open"))

    op.drop_table("lead_routes")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_lead_id"))

    op.drop_table("assignments")
    op.drop_table("team_members")
    with op.batch_alter_table("member_absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_absences_member_id"))

    op.drop_table("member_absences")
