"""Lead links: ``lead_links`` holds leads kept apart but related (``household``: people who
share a phone) and merges with the rows each moved (``merged``), so that ``leadflow lead
unmerge`` can move exactly those back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadflow.adapters.db.tables_base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = leadflow.adapters.db.tables_base.UtcDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "lead_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("related_id", sa.String(length=100), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("moved", _JSON, nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_links_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["related_id"], ["leads.id"], name=op.f("fk_lead_links_related_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_links")),
    )
    op.create_index(op.f("ix_lead_links_lead_id"), "lead_links", ["lead_id"])
    op.create_index(op.f("ix_lead_links_related_id"), "lead_links", ["related_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_links_related_id"), table_name="lead_links")
    op.drop_index(op.f("ix_lead_links_lead_id"), table_name="lead_links")
    op.drop_table("lead_links")
