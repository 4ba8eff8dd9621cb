"""Dashboard pages: pipeline, leads, a lead (with its actions), my queue, playbooks.

Server-rendered with Jinja2 (autoescaped), no JavaScript and nothing from a CDN. Actions are
plain HTML forms that call the same service as the API, guarded by a double-submit CSRF
token. The dashboard runs in open local mode only: once an API key exists it answers 401
(a login for people is not built yet).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Cookie, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt

from leadflow.adapters.db.apikeys import any_active_key
from leadflow.adapters.db.reader import (
    LeadFilters,
    lead_view,
    list_leads,
    names_of,
    open_route,
    stage_counts,
    work_queue,
)
from leadflow.adapters.db.reports import read_report_facts
from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.domain.stages import STAGE_ORDER, SalesAction, Stage
from leadflow.entrypoints.api.deps import AppDep
from leadflow.errors import ActionNotAllowedError, LeadflowError, LeadNotFoundError
from leadflow.services.playbook_doc import render_definitions
from leadflow.services.reports import DIMENSIONS, REPORTS, Report, ReportFilters, build_report
from leadflow.services.reports.facts import ALL_LABEL
from leadflow.services.routing.people import MAX_REASON, assign_lead
from leadflow.services.store.sales import NEEDS_REASON, take_action

HERE = Path(__file__).parent
CSRF_COOKIE = "leadflow_csrf"
USER_COOKIE = "leadflow_user"
REJECT_REASONS = ("no_active_need", "not_ready", "wrong_contact", "duplicate", "other")
DISQUALIFY_REASONS = ("out_of_area", "not_a_fit", "no_insurance", "wrong_org_type", "other")
LOSS_REASONS = ("chose_competitor", "no_budget", "no_response", "timing", "other")

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _ago(when: datetime | None, now: datetime) -> str:
    return "" if when is None else _duration((now - when).total_seconds())


_env.filters["label"] = lambda text: str(text).replace("_", " ")


def open_mode_only(app: AppDep) -> None:
    """The dashboard has no login yet: refuse it once API keys protect the API."""
    with app.db.read() as session:
        if any_active_key(session):
            raise HTTPException(
                401,
                "the dashboard runs in open local mode only; API keys are set, use the API",
            )


router = APIRouter(include_in_schema=False, dependencies=[Depends(open_mode_only)])


def _page(
    request: Request, template: str, active: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    base = {
        "request": request,
        "active": active,
        "user": request.cookies.get(USER_COOKIE),
        "csrf": token,
        "flash": _flash(request),
    }
    response = templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


_FLASH = {
    "accept": "Accepted.",
    "reject": "Rejected: the lead goes back to nurture.",
    "discovery": "Discovery answers saved.",
    "schedule": "Appointment recorded.",
    "disqualify": "Disqualified.",
    "win": "Marked as won.",
    "lose": "Marked as lost.",
    "assign": "Owner changed.",
}


def _flash(request: Request) -> dict[str, str] | None:
    done, error = request.query_params.get("done"), request.query_params.get("error")
    if done in _FLASH:
        return {"kind": "ok", "text": _FLASH[done]}
    if error:
        return {"kind": "err", "text": error[:300]}
    return None


@router.get("/", response_class=HTMLResponse)
def pipeline(request: Request, app: AppDep, playbook: str | None = None) -> HTMLResponse:
    with app.db.read() as session:
        counts = stage_counts(session, playbook)
        columns = []
        for stage in STAGE_ORDER:
            items, _ = list_leads(
                session, LeadFilters(stage=stage.value, playbook=playbook), None, 6
            )
            names = names_of(session, [i["lead_id"] for i in items])
            columns.append(
                {
                    "stage": stage.value,
                    "count": counts.get(stage.value, 0),
                    "leads": [{**i, "name": names.get(i["lead_id"], i["lead_id"])} for i in items],
                }
            )
    context = {
        "columns": columns,
        "playbook": playbook,
        "playbooks": shipped_playbooks(),
        "total": sum(counts.values()),
    }
    return _page(request, "pipeline.html", "pipeline", context)


@router.get("/leads", response_class=HTMLResponse)
def leads(
    request: Request,
    app: AppDep,
    stage: str | None = None,
    playbook: str | None = None,
    band: str | None = None,
    source: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    stage = stage if stage in {s.value for s in Stage} else None
    filters = LeadFilters(
        stage=stage, playbook=playbook or None, band=band or None, source=source or None
    )
    with app.db.read() as session:
        try:
            items, next_cursor = list_leads(session, filters, cursor or None, 50)
        except ValueError:
            items, next_cursor = list_leads(session, filters, None, 50)
        names = names_of(session, [i["lead_id"] for i in items])
    rows = [{**i, "name": names.get(i["lead_id"], i["lead_id"])} for i in items]
    query = {
        k: v
        for k, v in {"stage": stage, "playbook": playbook, "band": band, "source": source}.items()
        if v
    }
    more = None
    if next_cursor:
        more = "/leads?" + "&".join(
            f"{k}={quote(v)}" for k, v in {**query, "cursor": next_cursor}.items()
        )
    context = {
        "rows": rows,
        "filters": query,
        "stages": [s.value for s in Stage],
        "playbooks": shipped_playbooks(),
        "more": more,
    }
    return _page(request, "leads.html", "leads", context)


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead(request: Request, app: AppDep, lead_id: str) -> HTMLResponse:
    with app.db.read() as session:
        view = lead_view(session, lead_id)
        route = open_route(session, view["lead_id"]) if view is not None else None
    if view is None:
        return _page(
            request,
            "message.html",
            "leads",
            {"title": "No such lead", "text": f"No lead has the id {lead_id}."},
            404,
        )
    now = app.clock()
    due = view["decision"]["route"]["sla_due_at"] if view["decision"] else None
    sla = None
    if due:
        due_at = datetime.fromisoformat(due)
        left = (due_at - now).total_seconds()
        sla = {
            "due": due_at,
            "overdue": left < 0,
            "soon": 0 <= left < 3600,
            "text": ("overdue by " if left < 0 else "due in ") + _duration(abs(left)),
        }
    context = {
        "lead": view,
        "sla": sla,
        "assign": _assign_form(app, view["playbook"], route),
        "now": now,
        "reject_reasons": REJECT_REASONS,
        "disqualify_reasons": DISQUALIFY_REASONS,
        "loss_reasons": LOSS_REASONS,
        "profile_fields": [
            (k, v) for k, v in view["profile"].items() if k not in {"custom", "notes"}
        ],
    }
    return _page(request, "lead.html", "leads", context)


def _assign_form(app: AppDep, playbook: str, route: dict[str, Any] | None) -> dict[str, Any] | None:
    """The "Assign to" form's choices while a routed stage holds the lead (else ``None``)."""
    if route is None or route["team"] is None:
        return None
    try:
        team = app.playbooks(playbook).team(route["team"])
    except LeadflowError:
        return None
    if team is None:
        return None
    members = [(m.id, m.name) for m in team.members]
    return {"team": team.label, "members": members, "owner": route["owner"], "max": MAX_REASON}


@router.post("/leads/{lead_id}/assign")
def assign(
    app: AppDep,
    lead_id: str,
    csrf: Annotated[str, Form()],
    owner: Annotated[str, Form(max_length=64)],
    csrf_cookie: Annotated[str | None, Cookie(alias=CSRF_COOKIE)] = None,
    user: Annotated[str | None, Cookie(alias=USER_COOKIE)] = None,
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Give the lead to another member of its team (the same service as the API)."""
    if not csrf_cookie or not secrets.compare_digest(csrf, csrf_cookie):
        raise HTTPException(403, "the form expired; reload the page and try again")
    back = f"/leads/{quote(lead_id)}"
    actor = f"user:{user}" if user else "web"
    try:
        app.db.run(
            lambda store: assign_lead(
                store, app.playbooks, lead_id, owner, actor=actor, at=app.clock(), reason=reason
            )
        )
    except LeadflowError as exc:
        return RedirectResponse(f"{back}?error={quote(str(exc)[:200])}", 303)
    return RedirectResponse(f"{back}?done=assign", 303)


def _checked(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.post("/leads/{lead_id}/actions/{action}")
def act(
    app: AppDep,
    lead_id: str,
    action: SalesAction,
    csrf: Annotated[str, Form()],
    csrf_cookie: Annotated[str | None, Cookie(alias=CSRF_COOKIE)] = None,
    user: Annotated[str | None, Cookie(alias=USER_COOKIE)] = None,
    reason: Annotated[str | None, Form(max_length=500)] = None,
    note: Annotated[str | None, Form(max_length=4000)] = None,
    need_confirmed: Annotated[str | None, Form()] = None,
    eligibility_confirmed: Annotated[str | None, Form()] = None,
    decision_path: Annotated[str | None, Form(max_length=500)] = None,
    timeline: Annotated[str | None, Form(max_length=200)] = None,
    no_timeline_reason: Annotated[str | None, Form(max_length=500)] = None,
    next_step: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    if not csrf_cookie or not secrets.compare_digest(csrf, csrf_cookie):
        raise HTTPException(403, "the form expired; reload the page and try again")
    back = f"/leads/{quote(lead_id)}"
    if action in NEEDS_REASON and not (reason and reason.strip()):
        return RedirectResponse(f"{back}?error={quote(action.value + ' needs a reason')}", 303)
    props: dict[str, Any] = {
        "reason": reason or None,
        "note": note or None,
        "need_confirmed": _checked(need_confirmed),
        "eligibility_confirmed": _checked(eligibility_confirmed),
        "decision_path": decision_path or None,
        "timeline": timeline or None,
        "no_timeline_reason": no_timeline_reason or None,
        "next_step": next_step or None,
    }
    actor = f"user:{user}" if user else "web"
    try:
        app.db.run(
            lambda store: take_action(store, lead_id, action, props, app.context(actor, "web"))
        )
    except (ActionNotAllowedError, LeadNotFoundError) as exc:
        return RedirectResponse(f"{back}?error={quote(str(exc))}", 303)
    except LeadflowError as exc:
        return RedirectResponse(f"{back}?error={quote(str(exc)[:200])}", 303)
    return RedirectResponse(f"{back}?done={action.value}", 303)


@router.post("/session")
def session(
    name: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002 (the form field's name)
) -> Response:
    """Remember who is working at this browser (recorded as the actor of their actions)."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, 303)
    cleaned = "".join(ch for ch in name.strip() if ch.isprintable())[:100]
    if cleaned:
        response.set_cookie(USER_COOKIE, cleaned, httponly=True, samesite="strict")
    else:
        response.delete_cookie(USER_COOKIE)
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    app: AppDep,
    queue: str | None = None,
    mine: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    user = request.cookies.get(USER_COOKIE)
    owner = user if mine and user else None
    now = app.clock()
    with app.db.read() as session:
        rows = work_queue(session, owner=owner, queue=queue or None)
    for row in rows:
        row["waiting"] = _ago(row["since"], now)
        due = row["sla_due_at"]
        row["overdue"] = bool(due and due < now)
        row["due_soon"] = bool(due and now <= due and (due - now).total_seconds() < 3600)
    queues = sorted({r["queue"] for r in rows if r["queue"]})
    context = {
        "rows": rows,
        "queue": queue,
        "queues": queues,
        "mine": mine,
        "any_sla": any(r["sla_due_at"] for r in rows),
    }
    return _page(request, "queue.html", "queue", context)


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, app: AppDep) -> HTMLResponse:
    found = [app.playbooks(name) for name in shipped_playbooks()]
    return _page(request, "playbooks.html", "playbooks", {"playbooks": found})


@router.get("/playbooks/{name}", response_class=HTMLResponse)
def playbook(request: Request, app: AppDep, name: str) -> HTMLResponse:
    if name not in shipped_playbooks():
        return _page(
            request,
            "message.html",
            "playbooks",
            {"title": "No such playbook", "text": f"No shipped playbook is named {name}."},
            404,
        )
    compiled = app.playbooks(name)
    html = _markdown.render(render_definitions(compiled))
    return _page(request, "playbook.html", "playbooks", {"playbook": compiled, "html": html})


# Which columns each report draws as bars (a count, then a rate on a 0–100 % scale).
CHARTS: dict[str, tuple[str, str | None]] = {
    "funnel": ("mql", "mql_to_sql"),
    "channel-quality": ("mqls", "mql_to_sql"),
    "acceptance": ("count", None),
    "disqualifications": ("count", "cumulative_share"),
    "velocity": ("median_days", None),
    "outreach": ("median_hours", None),
    "nurture": ("entered", "re_engaged_share"),
}


def _chart(report: Report) -> list[dict[str, Any]]:
    count_col, rate_col = CHARTS.get(report.name, ("", None))
    if count_col not in report.columns:
        numeric = [c for c in report.columns if isinstance(report.rows[0].get(c), int | float)]
        if not numeric:
            return []
        count_col = numeric[0]
    label_col = report.columns[0]
    rows = [r for r in report.rows if r.get(label_col) != ALL_LABEL]
    top = max((float(r.get(count_col) or 0) for r in rows), default=0.0) or 1.0
    bars = []
    for row in rows:
        value = float(row.get(count_col) or 0)
        rate = row.get(rate_col) if rate_col and rate_col in report.columns else None
        bars.append(
            {
                "label": row.get(label_col),
                "value": row.get(count_col),
                "width": round(100 * value / top, 1),
                "rate": rate,
                "rate_width": round(100 * float(rate), 1)
                if isinstance(rate, int | float)
                else None,
            }
        )
    return [{"count": count_col, "rate": rate_col, "bars": bars}]


@router.get("/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    app: AppDep,
    report: str = "funnel",
    by: str = "channel",
    playbook: str | None = None,
) -> HTMLResponse:
    name = report if report in REPORTS else "funnel"
    dimension = by if by in DIMENSIONS else "channel"
    filters = ReportFilters(playbook=playbook or None)
    with app.db.read() as session:
        facts = read_report_facts(session, filters, app.clock())
    built = build_report(name, facts, dimension if name == "funnel" else None)
    csv_query = f"format=csv&by={dimension}" if name == "funnel" else "format=csv"
    if playbook:
        csv_query += f"&playbook={quote(playbook)}"
    context = {
        "report": built,
        "names": list(REPORTS),
        "dimensions": DIMENSIONS,
        "by": dimension,
        "playbook": playbook,
        "playbooks": shipped_playbooks(),
        "charts": _chart(built) if built.rows else [],
        "csv": f"/v1/reports/{name}?{csv_query}",
    }
    return _page(request, "reports.html", "reports", context)
