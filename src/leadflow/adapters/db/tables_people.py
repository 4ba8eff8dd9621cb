"""The schema of the people who use leadflow (migration 0005): users, their sessions,
single sign-on flows in progress, failed sign-ins, and who read which lead's record.

Registered on :data:`leadflow.adapters.db.tables_base.Base` (``tables`` imports this module).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.adapters.db.tables_base import Base, BigId


class UserRow(Base):
    """A person who signs in: a password (argon2 hash) and/or a single sign-on identity."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(Text)
    sso_issuer: Mapped[str | None] = mapped_column(String(400))
    sso_subject: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


class UserSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie, when it idles out and expires."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]


class SignInFlowRow(Base):
    """A single sign-on in progress: the SHA-256 of its ``state``, the PKCE verifier and
    nonce, and where the person was going. Used once, within ten minutes."""

    __tablename__ = "sign_in_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str] = mapped_column(String(100))
    next_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailureRow(Base):
    """Failed sign-ins counted per account and per client address (keyed by a hash, so what
    was typed is never stored), and until when further tries are refused."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class RecordAccessRow(Base):
    """One read of a lead's record: who, with which role, when, through what, and whether
    the free text was shown as written or redacted (append-only)."""

    __tablename__ = "record_access"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(200))
    free_text: Mapped[str] = mapped_column(String(20))


Index("ix_record_access_lead_at", RecordAccessRow.lead_id, RecordAccessRow.at)
