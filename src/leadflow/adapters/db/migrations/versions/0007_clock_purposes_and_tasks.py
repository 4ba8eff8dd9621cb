"""Clock purposes and tasks: ``sla_clocks.purpose`` says what a clock is for (first outreach,
discovery, an appointment to schedule, a recheck …; clocks stored before read as first
outreach), and ``tasks`` holds the work on a lead for its owner (rechecks, callbacks,
appointments to book), made by the playbook's rules or by reps.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadflow.adapters.db.tables_base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TIME = leadflow.adapters.db.tables_base.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sla_clocks") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=30), nullable=True))
    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("rule_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed_at", _TIME, nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("close_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_tasks_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_lead_id"), "tasks", ["lead_id"])
    op.create_index(op.f("ix_tasks_due_at"), "tasks", ["due_at"])
    op.create_index(op.f("ix_tasks_status"), "tasks", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tasks_status"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_due_at"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_lead_id"), table_name="tasks")
    op.drop_table("tasks")
    with op.batch_alter_table("sla_clocks") as batch:
        batch.drop_column("purpose")
