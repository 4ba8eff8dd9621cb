"""``/u/{token}``: the unsubscribe link of every marketing email, reached from an inbox.

``GET`` shows a one-button confirmation page (mail scanners fetch links: a GET changes
nothing); ``POST`` is the button and the RFC 8058 one-click target (``List-Unsubscribe=
One-Click``) and records the ``unsubscribed`` event. No API key: the signed token is the
permission. The pages never show who the lead is or where the email went: a bad link is a
400, an expired one a 410, and neither stores anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.api.deps import AppDep
from leadflow.entrypoints.web.render import templates
from leadflow.errors import UnsubscribeTokenError
from leadflow.services.optout import check_token, unsubscribe_by_token

# Pages reached from an inbox, not API operations: left out of the OpenAPI document, like the
# dashboard (its error answers are HTML pages, not the API's JSON error shape).
router = APIRouter(prefix="/u", tags=["unsubscribe"], include_in_schema=False)
ACTOR = "link:unsubscribe"
_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
_PAGES = {
    "active": (200, "Unsubscribe from these emails?", "You will get no more of these emails."),
    "already": (200, "You are unsubscribed", "This address gets no more of these emails."),
    "unsubscribed": (200, "You are unsubscribed", "You will get no more of these emails."),
    "bad_token": (
        400,
        "This unsubscribe link is not valid",
        "It may have been cut short or changed. Use the link in the email as it is, or "
        "reply to the email and ask us to stop.",
    ),
    "expired": (
        410,
        "This unsubscribe link has expired",
        "Use the link in a more recent email, or reply to the email and ask us to stop.",
    ),
}
_HTML: dict[int | str, dict[str, Any]] = {
    code: {"content": {"text/html": {}}, "description": text}
    for code, text in ((400, "not a valid link"), (410, "the link has expired"))
}


def _page(request: Request, outcome: str) -> HTMLResponse:
    status, title, text = _PAGES[outcome]
    context = {"title": title, "text": text, "ask": outcome == "active"}
    page = templates.TemplateResponse(request, "unsubscribe.html", context, status_code=status)
    page.headers.update(_PRIVATE)
    return page


@router.get("/{token}", response_class=HTMLResponse, responses=_HTML, summary="Unsubscribe page")
def get_unsubscribe(token: str, request: Request, app: AppDep) -> HTMLResponse:
    """A page with one button that unsubscribes the address the email went to."""
    links, now = app.unsubscribe_links(), app.clock()
    try:
        outcome = app.db.run(lambda store: check_token(store, links, token, now))
    except UnsubscribeTokenError as exc:
        outcome = exc.code
    return _page(request, outcome)


@router.post(
    "/{token}", response_class=HTMLResponse, responses=_HTML, summary="Unsubscribe (one click)"
)
def post_unsubscribe(token: str, request: Request, app: AppDep) -> HTMLResponse:
    """Record an `unsubscribed` event (channel email) for the address the link was sent to."""
    links = app.unsubscribe_links()

    def work(store: SqlUnitOfWork) -> str:
        return unsubscribe_by_token(store, links, token, app.context(ACTOR, "unsubscribe_link"))

    try:
        outcome = app.db.run(work)
    except UnsubscribeTokenError as exc:
        outcome = exc.code
    return _page(request, outcome)
