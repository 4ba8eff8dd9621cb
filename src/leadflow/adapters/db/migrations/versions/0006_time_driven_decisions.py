"""Time-driven decisions: ``decisions.next_change_at``, when time alone may change a lead's
decision (intent decaying below a threshold, a recheck date). The worker re-decides the
leads whose instant has come. Existing decisions get none until they are next decided
(``leadflow requalify`` sets it for every open lead).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadflow.adapters.db.tables_base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(
            sa.Column(
                "next_change_at",
                leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.create_index(batch.f("ix_decisions_next_change_at"), ["next_change_at"])


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_index(batch.f("ix_decisions_next_change_at"))
        batch.drop_column("next_change_at")
