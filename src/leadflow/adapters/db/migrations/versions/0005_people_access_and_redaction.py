"""People and minimum necessary: users, sessions, single sign-on flows, failed sign-ins,
the record access log, and the redacted copies of free text kept beside leads, events and
inbound replies.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadflow.adapters.db.tables_base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_access",
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
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("free_text", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_access")),
    )
    with op.batch_alter_table("record_access", schema=None) as batch_op:
        batch_op.create_index("ix_record_access_lead_at", ["lead_id", "at"], unique=False)

    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "first_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "locked_until",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failures")),
    )
    op.create_table(
        "sign_in_flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("next_url", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_flows")),
    )
    with op.batch_alter_table("sign_in_flows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_flows_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("sso_issuer", sa.String(length=400), nullable=True),
        sa.Column("sso_subject", sa.String(length=400), nullable=True),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "disabled_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "last_sign_in_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso"),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "revoked_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "redacted",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "redacted",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "redacted",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("redacted")

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("redacted")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("redacted")

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_sessions_expires_at"))

    op.drop_table("user_sessions")
    op.drop_table("users")
    with op.batch_alter_table("sign_in_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_flows_created_at"))

    op.drop_table("sign_in_flows")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("record_access", schema=None) as batch_op:
        batch_op.drop_index("ix_record_access_lead_at")

    op.drop_table("record_access")
