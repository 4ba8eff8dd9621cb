"""What every dashboard page shares: templates, who is signed in, the CSRF token, the nav.

A page declares what it needs once — ``Annotated[Principal, Depends(page(Permission.X))]``
— and the same policy as the API decides: without a session (and outside open local mode)
the browser is sent to ``/login`` and sees nothing; a role that may not open the page gets
a 403 page. The nav shows only the pages the role may open, and forms carry a double-submit
CSRF token (cookie + hidden field).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from leadflow.domain.access import Permission
from leadflow.domain.free_text import Marker
from leadflow.entrypoints.api.deps import AppDep, Principal, SignInRequired, resolve
from leadflow.errors import HttpError

HERE = Path(__file__).parent
CSRF_COOKIE = "leadflow_csrf"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)
_env.filters["label"] = lambda text: str(text).replace("_", " ")
_MARKERS = re.compile("|".join(re.escape(m.text) for m in Marker))


def _markers(text: object) -> Markup:
    """Free text with its redaction markers set apart (``[condition]`` in a grey chip)."""
    escaped = str(escape(str(text)))
    return Markup(  # noqa: S704 (escaped above; only the markers' own text is wrapped)
        _MARKERS.sub(lambda m: f'<span class="marker">{m.group()}</span>', escaped)
    )


_env.filters["markers"] = _markers

# The dashboard's pages: where, what, and what a role needs to see them in the nav.
NAV: tuple[tuple[str, str, str, Permission], ...] = (
    ("/", "Pipeline", "pipeline", Permission.LEADS_READ),
    ("/leads", "Leads", "leads", Permission.LEADS_READ),
    ("/queue", "My queue", "queue", Permission.LEADS_READ),
    ("/reports", "Reports", "reports", Permission.REPORTS_READ),
    ("/playbooks", "Playbooks", "playbooks", Permission.PLAYBOOKS_READ),
)


class PageRedirectError(Exception):
    """Send the browser elsewhere (to ``/login`` when nobody is signed in)."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class PageError(Exception):
    """A page that cannot be shown: an HTML page with the status and a clear message (with
    the signed-in person's nav, when someone is signed in)."""

    def __init__(
        self,
        status: int,
        title: str,
        text: str,
        headers: dict[str, str] | None = None,
        who: Principal | None = None,
    ):
        super().__init__(text)
        self.status, self.title, self.text, self.headers = status, title, text, headers
        self.who = who


def signed_in(request: Request, app: AppDep) -> Principal:
    """Whoever is signed in (or open local mode); to ``/login`` otherwise."""
    try:
        return resolve(request, app, None, "web")
    except SignInRequired:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageRedirectError(f"/login?next={quote(target, safe='')}") from None
    except HttpError as exc:
        raise PageError(exc.status, "Not now", exc.message, exc.headers) from exc


def page(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the signed-in person, if their role may ``permission``."""

    def check(who: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if not who.may(permission):
            raise PageError(
                403,
                "Not for your role",
                f"Your role ({who.role}) may not open this page. Ask an administrator if "
                "your work needs it.",
                who=who,
            )
        return who

    check.permission = permission  # type: ignore[attr-defined] # read by security_reference
    return check


SignedIn = Annotated[Principal, Depends(signed_in)]


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def same_token(a: str, b: str) -> bool:
    """Constant-time equality of two tokens, whatever characters they hold."""
    return secrets.compare_digest(a.encode(), b.encode())


def check_csrf(request: Request, submitted: str | None) -> None:
    """A form's token must match its cookie (a cross-site form cannot read the cookie)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not same_token(submitted, cookie):
        raise PageError(
            403,
            "The form expired",
            "The form expired or came from another site. Reload the page and try again.",
        )


def csrf_checked(
    request: Request, csrf: Annotated[str | None, Form(max_length=200)] = None
) -> None:
    """Every form's dependency: its ``csrf`` field must match the cookie."""
    check_csrf(request, csrf)


CsrfChecked = Annotated[None, Depends(csrf_checked)]


def secure_cookies(request: Request) -> bool:
    """Secure cookies over HTTPS — or behind a proxy that ends TLS, when the public URL is
    an https one."""
    app = request.app.state.leadflow
    public: str = app.settings.public_url
    return request.url.scheme == "https" or public.startswith("https://")


def render(
    request: Request,
    template: str,
    active: str,
    context: dict[str, Any],
    who: Principal | None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page with the nav of ``who``'s role, their name, a CSRF token and the flash."""
    token = csrf_token(request)
    nav = [(href, label, key) for href, label, key, need in NAV if who and who.may(need)]
    base = {
        "request": request,
        "active": active,
        "who": who,
        "nav": nav,
        "csrf": token,
        "flash": context.pop("flash", None),
    }
    response = templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies(request)
        )
    return response


def message_page(
    request: Request, status: int, title: str, text: str, who: Principal | None = None
) -> HTMLResponse:
    return render(request, "message.html", "", {"title": title, "text": text}, who, status=status)


def install_page_handlers(api: FastAPI) -> None:
    """Dashboard refusals as pages (not the API's JSON)."""

    @api.exception_handler(PageRedirectError)
    async def _redirect(_: Request, exc: PageRedirectError) -> Response:
        return RedirectResponse(exc.target, 303)

    @api.exception_handler(PageError)
    async def _error(request: Request, exc: PageError) -> Response:
        response = message_page(request, exc.status, exc.title, exc.text, exc.who)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
