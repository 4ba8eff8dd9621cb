"""Shared request dependencies: the wired application and who is acting, with what role.

With no active API key in the database the API runs in open local mode: every request acts
as ``admin`` and ``X-Actor: NAME`` names the person (``user:NAME``). Once a key exists
(``leadflow apikey create``), every ``/v1`` request except signed webhooks needs
``Authorization: Bearer lf_…`` and acts as ``key:NAME`` (``key:NAME/user:X`` with
``X-Actor``), limited to what the key's role may do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadflow.adapters.db.apikeys import any_active_key, authenticate
from leadflow.entrypoints.api.errors import ApiError
from leadflow.entrypoints.bootstrap import App

_bearer = HTTPBearer(auto_error=False, description="an API key: `lf_<id>_<secret>`")


def get_app(request: Request) -> App:
    app: App = request.app.state.leadflow
    return app


AppDep = Annotated[App, Depends(get_app)]


@dataclass(frozen=True)
class Principal:
    """Who is acting (recorded in history and audit) and with which role."""

    actor: str
    role: str


def get_principal(
    app: AppDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_actor: Annotated[
        str | None,
        Header(max_length=200, description="the person acting, recorded in history and audit"),
    ] = None,
) -> Principal:
    person = f"user:{x_actor}" if x_actor else None
    with app.db.read() as session:
        if credentials is None:
            if any_active_key(session):
                raise ApiError(
                    401,
                    "unauthorized",
                    "an API key is required: send `Authorization: Bearer lf_…`",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return Principal(person or "api", "admin")
        key = authenticate(session, credentials.credentials)
    if key is None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    actor = f"key:{key.name}" + (f"/{person}" if person else "")
    return Principal(actor, key.role)


def allow(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` (and ``admin``) through."""
    permitted = ("admin", *roles)

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in permitted:
            raise ApiError(
                403,
                "forbidden",
                f"role `{principal.role}` may not do this; allowed: {', '.join(permitted)}",
            )
        return principal

    return check


# What each kind of request needs (COMPLIANCE.md roles; analysts see reports only).
Ingest = Annotated[Principal, Depends(allow("marketing", "sales", "intake"))]
Act = Annotated[Principal, Depends(allow("sales", "intake"))]
ReadLeads = Annotated[Principal, Depends(allow("marketing", "sales", "intake"))]
ReadAny = Annotated[Principal, Depends(allow("marketing", "sales", "intake", "analyst"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="makes a retried POST safe: the first response is stored and replayed",
    ),
]
