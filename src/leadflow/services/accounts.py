"""People who sign in: accounts, sign-in with a password (throttled and audited), sessions.

The rules live here; storage (:class:`AccountStore`) and password hashing
(:class:`PasswordHasher`) are ports. A sign-in is refused with the same message whether the
email is unknown or the password wrong, and failures are counted per account and per client
address — both keyed by a hash, so what someone typed into the form is never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from leadflow.domain.access import ROLES
from leadflow.errors import AccountError
from leadflow.services.store.ports import AuditEntry, AuditLog

MIN_PASSWORD = 12
MAX_PASSWORD = 256


@dataclass(frozen=True)
class User:
    """An account as the rest of leadflow sees it (never its password hash)."""

    user_id: str
    email: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    has_password: bool = True
    sso: bool = False

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def actor(self) -> str:
        """How the audit log and the stage history name this person."""
        return f"user:{self.email}"


@dataclass(frozen=True)
class Failures:
    """Failed sign-ins counted under one key since ``first_at``."""

    count: int
    first_at: datetime
    locked_until: datetime | None


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in browser session."""

    session_id: str
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class AccountStore(Protocol):
    """What the account use cases need from storage."""

    def user_by_email(self, email: str) -> User | None: ...

    def user_by_id(self, user_id: str) -> User | None: ...

    def user_by_sso(self, issuer: str, subject: str) -> User | None: ...

    def password_hash(self, user_id: str) -> str | None: ...

    def add_user(self, user: User, password_hash: str | None, sso: tuple[str, str] | None) -> None:
        """Store a new account (its email is unique)."""
        ...

    def users(self) -> list[User]: ...

    def update_user(
        self,
        user_id: str,
        at: datetime,
        *,
        role: str | None = None,
        disabled_at: datetime | None = None,
        password_hash: str | None = None,
        signed_in_at: datetime | None = None,
    ) -> None: ...

    def failure_key(self, kind: str, value: str, at: datetime) -> str:
        """The key failures of ``value`` are counted under: a keyed hash, so that what was
        typed (perhaps a password in the email box) cannot be recovered from it."""
        ...

    def failures(self, key: str) -> Failures | None:
        """The failures counted under ``key``, held until the unit of work ends."""
        ...

    def save_failures(self, key: str, failures: Failures) -> None: ...

    def clear_failures(self, key: str) -> None: ...

    def add_session(
        self, session_id: str, user_id: str, method: str, at: datetime, expires_at: datetime
    ) -> None: ...

    def session(self, session_id: str) -> SessionRecord | None: ...

    def touch_session(self, session_id: str, at: datetime) -> None: ...

    def end_sessions(self, user_id: str, at: datetime, session_id: str | None = None) -> int:
        """Revoke the user's sessions (only ``session_id`` when given); how many ended."""
        ...

    @property
    def audit(self) -> AuditLog: ...


class PasswordHasher(Protocol):
    """A slow password hash (argon2)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password: str, hashed: str) -> bool: ...


@dataclass(frozen=True)
class SignInRules:
    """When failed sign-ins lock an account or an address, and for how long."""

    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """What a password sign-in came to."""

    outcome: Literal["ok", "wrong", "locked"]
    user: User | None = None
    retry_after_s: int = 0

    @property
    def message(self) -> str:
        match self.outcome:
            case "ok":
                return "Signed in."
            case "wrong":
                return "Wrong email or password."
            case "locked":
                minutes = max(1, -(-self.retry_after_s // 60))
                return (
                    "Too many failed sign-ins: try again in "
                    f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator "
                    "to reset your password."
                )


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role `{role}`; expected one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters"
            f" (this one has {len(password)})"
        )
    return password


def new_password() -> str:
    """A random password of 20 characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def add_user(
    store: AccountStore,
    hasher: PasswordHasher,
    email: str,
    role: str,
    *,
    name: str | None,
    password: str | None,
    actor: str,
    at: datetime,
    sso: tuple[str, str] | None = None,
) -> User:
    """Create an account (``password=None``: sign-in through single sign-on only)."""
    address = normalise_email(email)
    if "@" not in address or len(address) > 320:
        raise AccountError("an email address is needed, e.g. ana@clinic.example")
    check_role(role)
    if store.user_by_email(address) is not None:
        raise AccountError(f"a user with the email `{address}` exists already")
    digest = hasher.hash(check_password(password)) if password is not None else None
    user = User(
        f"usr_{secrets.token_hex(8)}",
        address,
        (name or address.split("@")[0]).strip()[:200],
        role,
        at,
        has_password=digest is not None,
        sso=sso is not None,
    )
    store.add_user(user, digest, sso)
    store.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action="user.created",
            entity="user",
            entity_id=user.user_id,
            after={"role": role},
        )
    )
    return user


def _existing(store: AccountStore, email: str) -> User:
    user = store.user_by_email(normalise_email(email))
    if user is None:
        raise AccountError("no user has that email; see `leadflow user list`")
    return user


def disable_user(store: AccountStore, email: str, *, actor: str, at: datetime) -> tuple[User, int]:
    """Disable the account and end every session it has, at once."""
    user = _existing(store, email)
    if user.active:
        store.update_user(user.user_id, at, disabled_at=at)
        store.audit.append(
            AuditEntry(
                at=at, actor=actor, action="user.disabled", entity="user", entity_id=user.user_id
            )
        )
    ended = store.end_sessions(user.user_id, at)
    return user, ended


def set_role(store: AccountStore, email: str, role: str, *, actor: str, at: datetime) -> User:
    """Change the role; the user's sessions end so the new role applies from the next
    sign-in."""
    user = _existing(store, email)
    check_role(role)
    if role != user.role:
        store.update_user(user.user_id, at, role=role)
        store.end_sessions(user.user_id, at)
        store.audit.append(
            AuditEntry(
                at=at,
                actor=actor,
                action="user.role_changed",
                entity="user",
                entity_id=user.user_id,
                before={"role": user.role},
                after={"role": role},
            )
        )
    return user


def reset_password(
    store: AccountStore,
    hasher: PasswordHasher,
    email: str,
    password: str,
    *,
    actor: str,
    at: datetime,
) -> User:
    """Set a new password, lift a lock, end every session."""
    user = _existing(store, email)
    store.update_user(user.user_id, at, password_hash=hasher.hash(check_password(password)))
    store.clear_failures(store.failure_key("account", user.email, at))
    store.end_sessions(user.user_id, at)
    store.audit.append(
        AuditEntry(
            at=at, actor=actor, action="user.password_reset", entity="user", entity_id=user.user_id
        )
    )
    return user


def _locked(store: AccountStore, key: str, now: datetime) -> int:
    found = store.failures(key)
    if found is None or found.locked_until is None or found.locked_until <= now:
        return 0
    return int((found.locked_until - now).total_seconds()) + 1


def _count_failure(
    store: AccountStore, key: str, limit: int, rules: SignInRules, now: datetime
) -> bool:
    """Count one failure; whether it locks the key."""
    found = store.failures(key)
    if found is None or now - found.first_at > rules.window:
        found = Failures(0, now, None)
    count = found.count + 1
    locked = now + rules.lock if count >= limit else None
    store.save_failures(key, Failures(count, found.first_at, locked))
    return locked is not None


_DUMMY_HASH: dict[str, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to check against when there is no user, so that an unknown email takes as
    long to refuse as a wrong password (made once)."""
    if "h" not in _DUMMY_HASH:
        _DUMMY_HASH["h"] = hasher.hash(secrets.token_hex(8))
    return _DUMMY_HASH["h"]


def password_sign_in(
    store: AccountStore,
    hasher: PasswordHasher,
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    rules: SignInRules,
) -> SignIn:
    """Check a password sign-in: locks first, then the password; every failure counted
    and audited."""
    account = store.failure_key("account", normalise_email(email), now)
    client = store.failure_key("address", address, now)
    wait = max(_locked(store, account, now), _locked(store, client, now))
    user = store.user_by_email(normalise_email(email))
    if wait:
        _audit_failure(store, user, now, "locked")
        return SignIn("locked", retry_after_s=wait)
    stored = store.password_hash(user.user_id) if user is not None else None
    if stored is None:  # unknown user or no password: spend the same time as a real check
        hasher.verify(password, _dummy_hash(hasher))
        ok = False
    else:
        ok = hasher.verify(password, stored)
    if not ok or user is None:
        locks = _count_failure(store, account, rules.account_failures, rules, now)
        locks = _count_failure(store, client, rules.address_failures, rules, now) or locks
        _audit_failure(store, user, now, "locked" if locks else "wrong password")
        if locks:
            return SignIn("locked", retry_after_s=int(rules.lock.total_seconds()))
        return SignIn("wrong")
    if not user.active:  # refused like a wrong password: it does not confirm the password
        _audit_failure(store, user, now, "disabled")
        return SignIn("wrong")
    store.clear_failures(account)
    return SignIn("ok", user)


def _audit_failure(store: AccountStore, user: User | None, at: datetime, why: str) -> None:
    store.audit.append(
        AuditEntry(
            at=at,
            actor="sign-in",
            action="user.sign_in_failed",
            entity="user",
            entity_id=user.user_id if user is not None else "unknown",
            reason=why,
        )
    )


@dataclass(frozen=True)
class SessionRules:
    """How long a session lives: idle timeout and absolute lifetime."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(seconds=60)


def start_session(
    store: AccountStore, user: User, method: str, now: datetime, rules: SessionRules
) -> str:
    """A new session for ``user``; returns the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    store.add_session(session_id(token), user.user_id, method, now, now + rules.lifetime)
    store.update_user(user.user_id, now, signed_in_at=now)
    store.audit.append(
        AuditEntry(
            at=now,
            actor=user.actor,
            action="user.signed_in",
            entity="user",
            entity_id=user.user_id,
            reason=method,
        )
    )
    return token


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def active_session(
    store: AccountStore, token: str, now: datetime, rules: SessionRules
) -> SessionRecord | None:
    """The session ``token`` names if it is still good: not revoked, not idle too long,
    not past its lifetime, and its user still enabled."""
    found = store.session(session_id(token))
    if found is None or found.revoked_at is not None or not found.user.active:
        return None
    if now >= found.expires_at or now - found.last_seen_at >= rules.idle:
        return None
    return found


def keep_alive(
    store: AccountStore, found: SessionRecord, now: datetime, rules: SessionRules
) -> None:
    """Move the idle timeout on (written at most once a minute per session)."""
    if now - found.last_seen_at >= rules.touch_every:
        store.touch_session(found.session_id, now)


def end_session(store: AccountStore, token: str, now: datetime) -> None:
    """Sign out: the session stops working at once."""
    found = store.session(session_id(token))
    if found is None:
        return
    store.end_sessions(found.user.user_id, now, found.session_id)
    store.audit.append(
        AuditEntry(
            at=now,
            actor=found.user.actor,
            action="user.signed_out",
            entity="user",
            entity_id=found.user.user_id,
        )
    )
