"""Signing in and out of the dashboard: ``/login`` (email and password), ``/logout``, and
single sign-on through the organisation's OpenID Connect provider (``/login/sso``).

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS); the
database keeps only its hash, so it can be revoked, and it ends after
``LEADFLOW_SESSION_IDLE_MINUTES`` unused or ``LEADFLOW_SESSION_LIFETIME_HOURS`` after
sign-in. Failed sign-ins are counted per account and per address, locked for a while after
too many, and audited; a password is never logged or stored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadflow.adapters.db.accounts import SignInFlow
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.api.deps import SESSION_COOKIE, AppDep, SignInRequired, resolve
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.web.render import (
    CsrfChecked,
    PageError,
    render,
    same_token,
    secure_cookies,
)
from leadflow.errors import AccountError, SsoError
from leadflow.services.accounts import (
    SignIn,
    end_session,
    password_sign_in,
    start_session,
)
from leadflow.services.sso import Verified, sso_sign_in
from leadflow.services.store.ports import AuditEntry

router = APIRouter(include_in_schema=False)
SSO_COOKIE = "leadflow_sso"
SSO_MAX_AGE = timedelta(minutes=10)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target[:500]
    return "/"


def _login_page(
    request: Request, app: App, next_url: str, problem: str | None = None, **extra: Any
) -> HTMLResponse:
    context = {
        "next": next_url,
        "problem": problem,
        "sso": app.settings.oidc_label if app.sso is not None else None,
        "email": extra.pop("email", None),
    }
    return render(request, "login.html", "login", context, None, status=extra.pop("status", 200))


def _signed_in_cookie(response: Response, request: Request, app: App, token: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(app.session_rules().lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, app: AppDep, next: str = "/") -> Response:  # noqa: A002
    target = safe_next(next)
    try:
        resolve(request, app, None, "web")
    except SignInRequired:
        return _login_page(request, app, target)
    return RedirectResponse(target, 303)  # already signed in (or open local mode)


@router.post("/login")
def login(
    request: Request,
    app: AppDep,
    _csrf: CsrfChecked,
    email: Annotated[str, Form(max_length=320, pattern=r"^[^\x00]*$")] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002 (the form field's name)
) -> Response:
    target = safe_next(next)
    if not email.strip() or not password:
        return _login_page(
            request, app, target, "Enter your email and password.", email=email, status=422
        )
    address = request.client.host if request.client else "unknown"
    now = app.clock()

    def work(store: SqlUnitOfWork) -> tuple[SignIn, str | None]:
        outcome = password_sign_in(
            store.accounts,
            app.passwords,
            email=email,
            password=password,
            address=address,
            now=now,
            rules=app.sign_in_rules(),
        )
        if outcome.user is None:
            return outcome, None
        return outcome, start_session(
            store.accounts, outcome.user, "password", now, app.session_rules()
        )

    outcome, token = app.db.run(work)
    if token is None:
        status = 429 if outcome.outcome == "locked" else 401
        page_ = _login_page(request, app, target, outcome.message, email=email, status=status)
        if outcome.retry_after_s:
            page_.headers["Retry-After"] = str(outcome.retry_after_s)
        return page_
    return _signed_in_cookie(RedirectResponse(target, 303), request, app, token)


@router.post("/logout")
def logout(
    request: Request,
    app: AppDep,
    _csrf: CsrfChecked,
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        app.db.run(lambda store: end_session(store.accounts, token, app.clock()))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _flow_id(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _sso(app: App) -> Any:
    if app.sso is None:
        raise PageError(404, "No single sign-on", "Single sign-on is not set up here.")
    return app.sso


@router.get("/login/sso")
def sso_start(request: Request, app: AppDep, next: str = "/") -> Response:  # noqa: A002
    client = _sso(app)
    try:
        start = client.start()
    except SsoError as exc:
        raise PageError(502, "Single sign-on is unavailable", str(exc)) from exc
    now = app.clock()
    flow = SignInFlow(start.code_verifier, start.nonce, safe_next(next), now)

    def work(store: SqlUnitOfWork) -> None:
        store.accounts.forget_flows(now - SSO_MAX_AGE)
        store.accounts.save_flow(_flow_id(start.state), flow)

    app.db.run(work)
    response = RedirectResponse(start.url, 303)
    response.set_cookie(
        SSO_COOKIE,
        start.state,
        max_age=int(SSO_MAX_AGE.total_seconds()),
        path="/login/sso",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.get("/login/sso/callback")
def sso_callback(
    request: Request,
    app: AppDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    client = _sso(app)
    if error is not None:
        raise PageError(
            401, "Not signed in", "The identity provider did not sign you in. Try again."
        )
    kept = request.cookies.get(SSO_COOKIE)
    if not code or not state or not kept or not same_token(kept, state):
        raise PageError(
            400,
            "Sign-in expired",
            "This sign-in did not start in this browser or has expired. Start again.",
        )
    now = app.clock()
    flow = app.db.run(lambda store: store.accounts.take_flow(_flow_id(state)))
    if flow is None or now - flow.created_at > SSO_MAX_AGE:
        raise PageError(400, "Sign-in expired", "This sign-in has expired. Start again.")
    try:
        identity = client.finish(code, flow.code_verifier, flow.nonce)
    except SsoError as exc:
        raise PageError(401, "Not signed in", str(exc)) from exc
    who = Verified(
        identity.issuer,
        identity.subject,
        identity.email,
        identity.email_verified,
        identity.name,
        identity.claims,
    )

    def work(store: SqlUnitOfWork) -> tuple[str | None, str | None]:
        try:
            user = sso_sign_in(store.accounts, who, app.role_mapping(), now)
        except AccountError as exc:
            store.audit.append(
                AuditEntry(
                    at=now,
                    actor="sso",
                    action="user.sign_in_failed",
                    entity="user",
                    entity_id="unknown",
                    reason=str(exc),
                )
            )
            return None, str(exc)
        return start_session(store.accounts, user, "sso", now, app.session_rules()), None

    token, problem = app.db.run(work)
    if token is None:
        raise PageError(403, "Not signed in", problem or "You may not sign in here.")
    response = RedirectResponse(flow.next_url, 303)
    response.delete_cookie(SSO_COOKIE, path="/login/sso")
    return _signed_in_cookie(response, request, app, token)
