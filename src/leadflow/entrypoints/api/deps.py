"""Who is acting, with what role — for the API and the dashboard alike.

A request is one of:

- **an integration** with ``Authorization: Bearer lf_…`` (``leadflow apikey create``): acts
  as ``key:NAME`` (``key:NAME/user:X`` with ``X-Actor: X``) with the key's role;
- **a person signed in** to the dashboard (the ``leadflow_session`` cookie): acts as
  ``user:EMAIL`` with their role. Through the API a session only reads (``GET``): changes
  from a browser go through the dashboard's forms, which carry a CSRF token;
- **open local mode**, only while no user and no API key was ever made (revoking the last
  key does not reopen it): every request acts as ``admin`` (``X-Actor`` names the person),
  and only with a ``Host`` of this machine (a loopback name, or one of
  ``LEADFLOW_ALLOWED_HOSTS``), so a web page cannot reach it through DNS rebinding.

What each role may do is :data:`leadflow.domain.access.PERMISSIONS`; a route declares its
permission once (``Annotated[Principal, Depends(require(Permission.X))]``) and never checks
a role itself. Each key and each person is rate limited (``LEADFLOW_RATE_LIMIT``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from leadflow.domain.access import LeadView, Permission, TextView, allowed_roles, lead_view, may
from leadflow.entrypoints.bootstrap import App
from leadflow.errors import HttpError
from leadflow.services.accounts import User, active_session, keep_alive

SESSION_COOKIE = "leadflow_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

_bearer = HTTPBearer(auto_error=False, description="an API key: `lf_<id>_<secret>`")


def get_app(request: Request) -> App:
    app: App = request.app.state.leadflow
    return app


AppDep = Annotated[App, Depends(get_app)]
XActor = Annotated[
    str | None,
    Header(max_length=200, description="the person acting, recorded in history and audit"),
]


@dataclass(frozen=True)
class Principal:
    """Who is acting (recorded in history and audit), with which role, and how."""

    actor: str
    role: str
    via: str = "open"  # "key" | "session" | "open"
    user: User | None = None

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)

    @property
    def view(self) -> LeadView:
        return lead_view(self.role)

    @property
    def raw_text(self) -> bool:
        """Whether this principal reads free text as written (intake and admin)."""
        return self.view.free_text is TextView.RAW


class SignInRequired(Exception):  # noqa: N818 (a signal, not a failure)
    """Nobody is signed in and the server is not in open local mode."""


def _limited(app: App, key: str) -> None:
    wait = app.limiter.hit("principal", key)
    if wait is not None:
        raise HttpError(
            429,
            "rate_limited",
            f"too many requests; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` → ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0].lower()
    return host_header.rsplit(":", 1)[0].lower() if host_header.count(":") == 1 else host_header


def own_host(app: App, host_header: str | None) -> bool:
    """Whether ``Host`` names this machine: a loopback name, or one of
    ``LEADFLOW_ALLOWED_HOSTS`` (an explicit choice; never the public URL's host)."""
    if not host_header:
        return False
    allowed = LOOPBACK_NAMES | {h.lower() for h in app.settings.allowed_hosts}
    return host_name(host_header) in allowed


def is_loopback(host: str) -> bool:
    """Whether a listening address is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve(request: Request, app: App, x_actor: str | None, default_actor: str) -> Principal:
    """The principal of a request (see the module's docstring); :class:`SignInRequired`
    when there is none."""
    header = request.headers.get("authorization")
    if header is not None:
        return _from_key(app, header, x_actor)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = _from_session(request, app, token)
        if found is not None:
            return found
    with app.db.view() as view:
        is_open = view.open_mode()
    if not is_open:
        raise SignInRequired
    if not own_host(app, request.headers.get("host")):
        raise HttpError(
            400,
            "bad_host",
            "open local mode answers only requests addressed to this machine "
            "(Host: 127.0.0.1 or localhost; more names in LEADFLOW_ALLOWED_HOSTS); "
            "create an account or an API key to serve beyond it",
        )
    return Principal(f"user:{x_actor}" if x_actor else default_actor, "admin", "open")


def _from_key(app: App, header: str, x_actor: str | None) -> Principal:
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise HttpError(
            401,
            "unauthorized",
            "send an API key as `Authorization: Bearer lf_…`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with app.db.view() as view:
        key = view.keys.authenticate(presented.strip())
    if key is None:
        raise HttpError(
            401,
            "unauthorized",
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    _limited(app, f"key:{key.key_id}")
    actor = f"key:{key.name}" + (f"/user:{x_actor}" if x_actor else "")
    return Principal(actor, key.role, "key")


def _from_session(request: Request, app: App, token: str) -> Principal | None:
    now, rules = app.clock(), app.session_rules()
    with app.db.view() as view:
        found = active_session(view.accounts, token, now, rules)
    if found is None:
        return None
    if request.url.path.startswith("/v1/") and request.method not in SAFE_METHODS:
        raise HttpError(
            401,
            "unauthorized",
            "a signed-in session reads the API only; changes need an API key "
            "(`Authorization: Bearer lf_…`) or the dashboard's forms",
            headers={"WWW-Authenticate": "Bearer"},
        )
    _limited(app, f"user:{found.user.user_id}")
    app.db.run(lambda store: keep_alive(store.accounts, found, now, rules))
    return Principal(found.user.actor, found.user.role, "session", found.user)


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that lets through only roles allowed ``permission`` (the API's form:
    401 without credentials, 403 for a role that may not)."""

    def check(
        request: Request,
        app: AppDep,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        x_actor: XActor = None,
    ) -> Principal:
        try:
            principal = resolve(request, app, x_actor, "api")
        except SignInRequired:
            raise HttpError(
                401,
                "unauthorized",
                "an API key is required: send `Authorization: Bearer lf_…`",
                headers={"WWW-Authenticate": "Bearer"},
            ) from None
        if not principal.may(permission):
            raise HttpError(
                403,
                "forbidden",
                f"role `{principal.role}` may not do this ({permission.value}); "
                f"allowed: {', '.join(allowed_roles(permission))}",
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined] # read by security_reference
    return check


# What each kind of request needs (the table is in leadflow.domain.access).
Ingest = Annotated[Principal, Depends(require(Permission.LEADS_WRITE))]
Act = Annotated[Principal, Depends(require(Permission.LEADS_ACT))]
ReadLeads = Annotated[Principal, Depends(require(Permission.LEADS_READ))]
ReadReports = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
ReadPlaybooks = Annotated[Principal, Depends(require(Permission.PLAYBOOKS_READ))]
ReadTeams = Annotated[Principal, Depends(require(Permission.TEAMS_READ))]
Route = Annotated[Principal, Depends(require(Permission.LEADS_ASSIGN))]
Review = Annotated[Principal, Depends(require(Permission.SMS_REVIEW))]
ReadAccessLog = Annotated[Principal, Depends(require(Permission.ACCESS_LOG_READ))]
Unmerge = Annotated[Principal, Depends(require(Permission.LEADS_UNMERGE))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="makes a retried POST safe: the first response is stored and replayed",
    ),
]
