"""Signing in through the organisation's identity provider (OpenID Connect).

The provider proves who the person is; :class:`RoleMapping` turns a claim (``groups`` by
default) into a leadflow role. A first sign-in creates the account; an account with the
same email made earlier with ``leadflow user add`` is linked to the provider's identity —
only when the provider says the email is verified, and only when the sign-in succeeds.
When a mapping is configured the provider stays in charge of the role: a changed group
changes the role at the next sign-in, and a person in no mapped group is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from leadflow.domain.access import Role
from leadflow.errors import AccountError
from leadflow.services.accounts import (
    AccountStore,
    User,
    add_user,
    normalise_email,
)
from leadflow.services.store.ports import AuditEntry

# When a person's groups map to several roles, the first of these wins.
PRECEDENCE: tuple[Role, ...] = (
    Role.ADMIN,
    Role.INTAKE,
    Role.SALES,
    Role.MARKETING,
    Role.ANALYST,
)
ACTOR = "sso"


@dataclass(frozen=True)
class RoleMapping:
    """Which role a person gets from their claims at the identity provider."""

    claim: str = "groups"
    roles: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def role_for(self, claims: Mapping[str, Any]) -> str | None:
        value = claims.get(self.claim)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        mapped = {self.roles[v] for v in values if isinstance(v, str) and v in self.roles}
        for role in PRECEDENCE:
            if role.value in mapped:
                return role.value
        return self.default


class SsoAccounts(AccountStore, Protocol):
    """Accounts, plus linking an existing account to the provider's identity."""

    def link_sso(self, user_id: str, issuer: str, subject: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class Verified:
    """What a verified ID token says about the person."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None
    name: str | None
    claims: Mapping[str, Any]


def sso_sign_in(store: SsoAccounts, who: Verified, mapping: RoleMapping, now: datetime) -> User:
    """The account ``who`` signs in as (created or updated); :class:`AccountError` with a
    message for the person when they may not sign in."""
    role = mapping.role_for(who.claims)
    user = store.user_by_sso(who.issuer, who.subject)
    link = None
    if user is None and who.email and who.email_verified is True:
        link = store.user_by_email(normalise_email(who.email))
        if link is not None and link.sso:
            raise AccountError("this email belongs to another single sign-on identity")
    found = user or link
    if role is None and (mapping.roles or found is None):
        raise AccountError(
            "your account at the identity provider is in no group that leadflow knows; "
            "ask an administrator"
        )
    if found is not None and not found.active:
        raise AccountError("this account is disabled; ask an administrator")
    if found is None:
        if not who.email or role is None:
            raise AccountError("the identity provider did not say your email address")
        return add_user(
            store,
            _no_hashing,
            who.email,
            role,
            name=who.name,
            password=None,
            actor=ACTOR,
            at=now,
            sso=(who.issuer, who.subject),
        )
    user = found
    if link is not None:  # only once the person may sign in: a refusal links nothing
        store.link_sso(link.user_id, who.issuer, who.subject, now)
        store.audit.append(
            AuditEntry(
                at=now, actor=ACTOR, action="user.sso_linked", entity="user", entity_id=link.user_id
            )
        )
    if role is not None and role != user.role:
        store.update_user(user.user_id, now, role=role)
        store.audit.append(
            AuditEntry(
                at=now,
                actor=ACTOR,
                action="user.role_changed",
                entity="user",
                entity_id=user.user_id,
                before={"role": user.role},
                after={"role": role},
                reason=f"claim `{mapping.claim}` at the identity provider",
            )
        )
        user = store.user_by_id(user.user_id) or user
    return user


class _NoHashing:
    """SSO accounts have no password: nothing is ever hashed for them."""

    def hash(self, password: str) -> str:  # pragma: no cover - never called without one
        raise AssertionError("an SSO account has no password")

    def verify(self, password: str, hashed: str) -> bool:  # pragma: no cover
        return False


_no_hashing = _NoHashing()
