"""API keys: ``lf_<id>_<secret>``; only a hash of the secret is stored.

The secret has 256 bits of randomness, so a plain SHA-256 is enough to store it safely (a
slow password hash protects guessable secrets, which these are not); keys are compared in
constant time. A key is rotated by creating a new one and revoking the old.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import ApiKeyRow

ROLES = ("admin", "marketing", "sales", "intake", "analyst")
PREFIX = "lf_"


@dataclass(frozen=True)
class ApiKey:
    """A key's public part: who it is for and what role it has."""

    key_id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _public(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.role, row.created_at, row.revoked_at)


class SqlApiKeys:
    """API keys on one session (``uow.keys``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, name: str, role: str, at: datetime) -> tuple[ApiKey, str]:
        """A new key; the full key text is returned once and never stored."""
        if role not in ROLES:
            raise ValueError(f"unknown role `{role}`; expected one of {', '.join(ROLES)}")
        taken = select(ApiKeyRow.id).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
        if self._session.execute(taken).first() is not None:
            # the name is the actor in audit and history: two live keys may not share it
            raise ValueError(f"an active key is named `{name}`; revoke it or choose another name")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=key_id,
            name=name,
            role=role,
            secret_hash=_digest(secret),
            created_at=at,
            revoked_at=None,
        )
        self._session.add(row)
        self._session.flush()
        return _public(row), f"{PREFIX}{key_id}_{secret}"

    def all(self) -> list[ApiKey]:
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        return [_public(r) for r in self._session.scalars(query)]

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        row = self._session.get(ApiKeyRow, key_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = at
        return _public(row)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` is, or ``None``."""
        if not presented.startswith(PREFIX):
            return None
        key_id, _, secret = presented.removeprefix(PREFIX).partition("_")
        if not key_id or not secret:
            return None
        row = self._session.get(ApiKeyRow, key_id)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _digest(secret)):
            return None
        return _public(row)
