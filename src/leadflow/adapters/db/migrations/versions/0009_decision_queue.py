"""The decision queue: events are appended by the ingest path and decided by deciders
(issue 13). ``decision_queue`` holds one row per appended batch and lead until a decider has
stored the lead's decision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadflow.adapters.db.tables_base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TIME = leadflow.adapters.db.tables_base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "decision_queue",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("queued_at", _TIME, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("import_max_age_s", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decision_queue")),
    )
    op.create_index(op.f("ix_decision_queue_lead_id"), "decision_queue", ["lead_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_decision_queue_lead_id"), table_name="decision_queue")
    op.drop_table("decision_queue")
