"""Per-database secrets: the unsubscribe links' key when ``LEADFLOW_UNSUBSCRIBE_SECRET`` is
unset.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadflow.adapters.db.tables_base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
