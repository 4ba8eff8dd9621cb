"""Initial schema: leads, identities, events, decisions, stage history, consents, idempotency
keys, webhook deliveries, the hash-chained audit log, import runs and API keys.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadflow.adapters.db.tables_base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "revoked_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("playbook_version", sa.String(length=100), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_entity_id"), ["entity_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column(
            "started_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("playbook", sa.String(length=100), nullable=False),
        sa.Column("lead_type", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column(
            "profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "received_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("merged_into", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["leads.id"], name=op.f("fk_leads_merged_into_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_merged_into"), ["merged_into"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_playbook"), ["playbook"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_source"), ["source"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column(
            "received_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("source", "delivery_id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("contact_point", sa.String(length=400), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "captured_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("disclosure_version", sa.String(length=100), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "revoked_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("revoked_how", sa.String(length=100), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_consents_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            "ix_consents_point", ["lead_id", "channel", "contact_point"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("band", sa.String(length=100), nullable=False),
        sa.Column("fit_score", sa.Float(), nullable=False),
        sa.Column("intent_score", sa.Float(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column(
            "sla_due_at", leadflow.adapters.db.tables_base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("playbook_id", sa.String(length=100), nullable=False),
        sa.Column("playbook_version", sa.String(length=100), nullable=False),
        sa.Column(
            "decided_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_decisions_lead_id_leads")),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_band"), ["band"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_stage"), ["stage"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column(
            "occurred_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "recorded_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_events_lead_id_leads")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_events_lead_occurred", ["lead_id", "occurred_at"], unique=False)

    op.create_table(
        "identities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column(
            "created_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_identities_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("kind", "source", "value", name="uq_identities_key"),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "stage_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.String(length=100), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=True),
        sa.Column("to_stage", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("playbook_id", sa.String(length=100), nullable=False),
        sa.Column("playbook_version", sa.String(length=100), nullable=False),
        sa.Column(
            "changed_at",
            leadflow.adapters.db.tables_base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_stage_history_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_history")),
    )
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stage_history_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_history_lead_id"))

    op.drop_table("stage_history")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_lead_id"))

    op.drop_table("identities")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_lead_occurred")
        batch_op.drop_index(batch_op.f("ix_events_lead_id"))

    op.drop_table("events")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_stage"))
        batch_op.drop_index(batch_op.f("ix_decisions_owner"))
        batch_op.drop_index(batch_op.f("ix_decisions_band"))

    op.drop_table("decisions")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_point")
        batch_op.drop_index(batch_op.f("ix_consents_lead_id"))

    op.drop_table("consents")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_received_at"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_source"))
        batch_op.drop_index(batch_op.f("ix_leads_playbook"))
        batch_op.drop_index(batch_op.f("ix_leads_merged_into"))
        batch_op.drop_index(batch_op.f("ix_leads_created_at"))

    op.drop_table("leads")
    op.drop_table("import_runs")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_id"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("api_keys")
