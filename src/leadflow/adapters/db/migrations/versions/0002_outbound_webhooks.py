"""Outbound webhooks: the endpoints and the transactional outbox of messages to deliver.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadflow.adapters.db.tables_base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _instant(name: str, *, nullable: bool) -> sa.Column[Any]:
    instant = leadflow.adapters.db.tables_base.UtcDateTime(timezone=True)
    return sa.Column(name, instant, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("event_types", _json(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        _instant("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("msg_id", sa.String(length=60), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        _instant("created_at", nullable=False),
        _instant("next_attempt_at", nullable=False),
        _instant("retry_until", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("delivered_at", nullable=True),
        sa.Column("dead", sa.Boolean(), nullable=False),
        _instant("dead_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_outbox_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_webhook_outbox_msg_id")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_endpoint_id"), ["endpoint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_endpoint_id"))

    op.drop_table("webhook_outbox")
    op.drop_table("webhook_endpoints")
