"""Accounts, sessions and failed sign-ins in SQL (the ``AccountStore`` port)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.app_secrets import database_secret
from leadflow.adapters.db.audit_log import SqlAuditLog
from leadflow.adapters.db.tables import ApiKeyRow
from leadflow.adapters.db.tables_people import (
    SignInFailureRow,
    SignInFlowRow,
    UserRow,
    UserSessionRow,
)
from leadflow.services.accounts import Failures, SessionRecord, User
from leadflow.services.store.ports import AuditLog

_USERS = cast(Table, UserRow.__table__)
_SESSIONS = cast(Table, UserSessionRow.__table__)
_FAILURES = cast(Table, SignInFailureRow.__table__)
_FLOWS = cast(Table, SignInFlowRow.__table__)


@dataclass(frozen=True)
class SignInFlow:
    """A single sign-on in progress (kept until the provider sends the person back)."""

    code_verifier: str
    nonce: str
    next_url: str
    created_at: datetime


def open_mode(session: Session) -> bool:
    """Whether the server runs in open local mode: no user and no API key was ever made
    (disabled users and revoked keys count, so revoking the last key never reopens it)."""
    user = select(UserRow.id).limit(1)
    key = select(ApiKeyRow.id).limit(1)
    return session.execute(user).first() is None and session.execute(key).first() is None


def _user(row: Any) -> User:
    return User(
        user_id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        last_sign_in_at=row.last_sign_in_at,
        has_password=row.password_hash is not None,
        sso=row.sso_subject is not None,
    )


class SqlAccounts:
    """The ``AccountStore`` port on one session; audit records go to the unit of work's
    hash-chained log."""

    def __init__(self, session: Session, audit: AuditLog | None = None) -> None:
        self._db = session
        self.audit = audit if audit is not None else SqlAuditLog(session)

    def _one(self, *where: Any) -> User | None:
        row = self._db.execute(select(_USERS).where(*where)).first()
        return _user(row) if row is not None else None

    def user_by_email(self, email: str) -> User | None:
        return self._one(_USERS.c.email == email)

    def user_by_id(self, user_id: str) -> User | None:
        return self._one(_USERS.c.id == user_id)

    def user_by_sso(self, issuer: str, subject: str) -> User | None:
        return self._one(_USERS.c.sso_issuer == issuer, _USERS.c.sso_subject == subject)

    def password_hash(self, user_id: str) -> str | None:
        found: str | None = self._db.execute(
            select(_USERS.c.password_hash).where(_USERS.c.id == user_id)
        ).scalar()
        return found

    def add_user(self, user: User, password_hash: str | None, sso: tuple[str, str] | None) -> None:
        issuer, subject = sso if sso is not None else (None, None)
        self._db.execute(
            _USERS.insert().values(
                id=user.user_id,
                email=user.email,
                name=user.name,
                role=user.role,
                password_hash=password_hash,
                sso_issuer=issuer,
                sso_subject=subject,
                created_at=user.created_at,
                updated_at=user.created_at,
                disabled_at=None,
                last_sign_in_at=None,
            )
        )

    def link_sso(self, user_id: str, issuer: str, subject: str, at: datetime) -> None:
        self._db.execute(
            update(_USERS)
            .where(_USERS.c.id == user_id)
            .values(sso_issuer=issuer, sso_subject=subject, updated_at=at)
        )

    def users(self) -> list[User]:
        rows = self._db.execute(select(_USERS).order_by(_USERS.c.email))
        return [_user(r) for r in rows]

    def any_user(self) -> bool:
        return self._db.execute(select(_USERS.c.id).limit(1)).first() is not None

    def update_user(
        self,
        user_id: str,
        at: datetime,
        *,
        role: str | None = None,
        disabled_at: datetime | None = None,
        password_hash: str | None = None,
        signed_in_at: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": at}
        for column, value in (
            ("role", role),
            ("disabled_at", disabled_at),
            ("password_hash", password_hash),
            ("last_sign_in_at", signed_in_at),
        ):
            if value is not None:
                values[column] = value
        self._db.execute(update(_USERS).where(_USERS.c.id == user_id).values(**values))

    # -- failed sign-ins -------------------------------------------------------------------
    def failure_key(self, kind: str, value: str, at: datetime) -> str:
        key = database_secret(self._db, "sign_in_failures", at)
        return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def failures(self, key: str) -> Failures | None:
        query = select(_FAILURES).where(_FAILURES.c.key == key).with_for_update()
        row = self._db.execute(query).first()
        return Failures(row.failures, row.first_at, row.locked_until) if row else None

    def save_failures(self, key: str, failures: Failures) -> None:
        values = {
            "failures": failures.count,
            "first_at": failures.first_at,
            "locked_until": failures.locked_until,
        }
        done = self._db.execute(update(_FAILURES).where(_FAILURES.c.key == key).values(**values))
        if not getattr(done, "rowcount", 0):
            self._db.execute(_FAILURES.insert().values(key=key, **values))

    def clear_failures(self, key: str) -> None:
        self._db.execute(delete(_FAILURES).where(_FAILURES.c.key == key))

    # -- sessions --------------------------------------------------------------------------
    def add_session(
        self, session_id: str, user_id: str, method: str, at: datetime, expires_at: datetime
    ) -> None:
        self._db.execute(
            _SESSIONS.insert().values(
                id=session_id,
                user_id=user_id,
                method=method,
                created_at=at,
                last_seen_at=at,
                expires_at=expires_at,
                revoked_at=None,
            )
        )

    def session(self, session_id: str) -> SessionRecord | None:
        row = self.session_row(session_id)
        if row is None:
            return None
        user = self.user_by_id(row.user_id)
        if user is None:  # pragma: no cover - a foreign key keeps the user
            return None
        return SessionRecord(
            row.id, user, row.created_at, row.last_seen_at, row.expires_at, row.revoked_at
        )

    def session_row(self, session_id: str) -> Any:
        return self._db.execute(select(_SESSIONS).where(_SESSIONS.c.id == session_id)).first()

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._db.execute(
            update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(last_seen_at=at)
        )

    def end_sessions(self, user_id: str, at: datetime, session_id: str | None = None) -> int:
        query = update(_SESSIONS).where(
            _SESSIONS.c.user_id == user_id, _SESSIONS.c.revoked_at.is_(None)
        )
        if session_id is not None:
            query = query.where(_SESSIONS.c.id == session_id)
        done = self._db.execute(query.values(revoked_at=at))
        return int(getattr(done, "rowcount", 0) or 0)

    # -- single sign-on flows ----------------------------------------------------------------
    def save_flow(self, flow_id: str, flow: SignInFlow) -> None:
        self._db.execute(
            _FLOWS.insert().values(
                id=flow_id,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
                next_url=flow.next_url,
                created_at=flow.created_at,
            )
        )

    def take_flow(self, flow_id: str) -> SignInFlow | None:
        """The flow, deleted as it is read (a ``state`` works once)."""
        row = self._db.execute(select(_FLOWS).where(_FLOWS.c.id == flow_id)).first()
        if row is None:
            return None
        self._db.execute(delete(_FLOWS).where(_FLOWS.c.id == flow_id))
        return SignInFlow(row.code_verifier, row.nonce, row.next_url, row.created_at)

    def forget_flows(self, before: datetime) -> None:
        self._db.execute(delete(_FLOWS).where(_FLOWS.c.created_at < before))
