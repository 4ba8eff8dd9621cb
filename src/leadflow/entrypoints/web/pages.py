"""Dashboard pages: pipeline, leads, a lead (with its actions), my queue, playbooks, reports.

Server-rendered with Jinja2 (autoescaped), no JavaScript and nothing from a CDN. Each page
declares what its reader needs (``page(Permission.X)``, the same table as the API's); a
lead's free text is shown as the reader's role may see it, every read of a lead's record is
logged, and each form — shown only to a role that may use it — is guarded by a
double-submit CSRF token and calls the same service as the API.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt

from leadflow.adapters.db.reader import (
    LeadFilters,
)
from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.domain.access import Permission
from leadflow.domain.purposes import label_of
from leadflow.domain.stages import STAGE_ORDER, SalesAction, Stage
from leadflow.domain.tasks import task_form
from leadflow.entrypoints.api.deps import AppDep, Principal
from leadflow.entrypoints.records import read_lead_record
from leadflow.entrypoints.web.lead_forms import assign_form, reason_choices
from leadflow.entrypoints.web.render import (
    HERE,
    CsrfChecked,
    message_page,
    page,
    render,
)
from leadflow.errors import LeadflowError
from leadflow.services.playbook_doc import render_definitions
from leadflow.services.reports import DIMENSIONS, REPORTS, Report, ReportFilters, build_report
from leadflow.services.reports.facts import ALL_LABEL, ClockFact
from leadflow.services.routing.due import overdue
from leadflow.services.routing.people import assign_lead
from leadflow.services.store.sales import take_action

__all__ = ["HERE", "router"]
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

# No NUL in ids and filters (PostgreSQL cannot compare one): a 422 names the field.
LeadId = Annotated[str, Path(max_length=100, pattern=r"^[^\x00]*$")]
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]

ReadLeads = Annotated[Principal, Depends(page(Permission.LEADS_READ))]
Act = Annotated[Principal, Depends(page(Permission.LEADS_ACT))]
Assign = Annotated[Principal, Depends(page(Permission.LEADS_ASSIGN))]
ReadReports = Annotated[Principal, Depends(page(Permission.REPORTS_READ))]
ReadPlaybooks = Annotated[Principal, Depends(page(Permission.PLAYBOOKS_READ))]


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _ago(when: datetime | None, now: datetime) -> str:
    return "" if when is None else _duration((now - when).total_seconds())


router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    template: str,
    active: str,
    context: dict[str, Any],
    who: Principal,
    status: int = 200,
) -> HTMLResponse:
    context = {**context, "flash": _flash(request)}
    response = render(request, template, active, context, who, status=status)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE)
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
    "task_added": "Task added.",
    "task_done": "Task done.",
    "task_dismissed": "Task dismissed.",
}


FLASH_COOKIE = "leadflow_flash"


def failed(back: str, message: str) -> Response:
    """Back to the page, with why the form failed kept in a one-use cookie (never in the
    address, where a link from anyone could put words on the page)."""
    response = RedirectResponse(back, 303)
    response.set_cookie(
        FLASH_COOKIE, quote(message[:300]), max_age=60, httponly=True, samesite="strict"
    )
    return response


def _flash(request: Request) -> dict[str, str] | None:
    done, error = request.query_params.get("done"), request.cookies.get(FLASH_COOKIE)
    if done in _FLASH:
        return {"kind": "ok", "text": _FLASH[done]}
    if error:
        return {"kind": "err", "text": unquote(error)[:300]}
    return None


@router.get("/", response_class=HTMLResponse)
def pipeline(request: Request, app: AppDep, who: ReadReports, playbook: Filter = None) -> Response:
    if not who.may(Permission.LEADS_READ):  # analysts land on the reports
        return RedirectResponse("/reports", 303)
    shown = app.redactor(who.raw_text)
    with app.db.view() as snapshot:
        counts = snapshot.stage_counts(playbook)
        columns = []
        for stage in STAGE_ORDER:
            items, _ = snapshot.leads(LeadFilters(stage=stage.value, playbook=playbook), None, 6)
            names = snapshot.names_of([i["lead_id"] for i in items])
            columns.append(
                {
                    "stage": stage.value,
                    "count": counts.get(stage.value, 0),
                    "leads": [
                        {
                            **i,
                            "name": names.get(i["lead_id"], i["lead_id"]),
                            "status": shown.text(i["status"]),
                        }
                        for i in items
                    ],
                }
            )
    context = {
        "columns": columns,
        "playbook": playbook,
        "playbooks": shipped_playbooks(),
        "total": sum(counts.values()),
    }
    return _page(request, "pipeline.html", "pipeline", context, who)


@router.get("/leads", response_class=HTMLResponse)
def leads(
    request: Request,
    app: AppDep,
    who: ReadLeads,
    stage: Filter = None,
    playbook: Filter = None,
    band: Filter = None,
    source: Filter = None,
    cursor: Filter = None,
) -> HTMLResponse:
    stage = stage if stage in {s.value for s in Stage} else None
    filters = LeadFilters(
        stage=stage, playbook=playbook or None, band=band or None, source=source or None
    )
    with app.db.view() as snapshot:
        try:
            items, next_cursor = snapshot.leads(filters, cursor or None, 50)
        except ValueError:
            items, next_cursor = snapshot.leads(filters, None, 50)
        names = snapshot.names_of([i["lead_id"] for i in items])
    shown = app.redactor(who.raw_text)
    rows = [
        {**i, "name": names.get(i["lead_id"], i["lead_id"]), "status": shown.text(i["status"])}
        for i in items
    ]
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
    return _page(request, "leads.html", "leads", context, who)


def _sla(view: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    due = view["decision"]["route"]["sla_due_at"] if view["decision"] else None
    if not due:
        return None
    due_at = datetime.fromisoformat(due)
    missed = _missed_due(view, now)
    if missed is not None:  # the hand-off was missed: overdue since then, until reached
        due_at = missed
    left = (due_at - now).total_seconds()
    running = [c for c in view["sla"] if c["stopped_at"] is None and c["closed_at"] is None]
    return {
        "what": label_of(running[-1]["purpose"] if running and missed is None else None),
        "due": due_at,
        "overdue": left < 0,
        "soon": 0 <= left < 3600,
        "text": ("overdue by " if left < 0 else "due in ") + _duration(abs(left)),
    }


def _missed_due(view: dict[str, Any], now: datetime) -> datetime | None:
    """The missed hand-off's due time when nobody has reached the lead since (the same
    definition as My queue and the outreach report); else ``None``."""
    history = view.get("stage_history") or []
    if not history:
        return None
    since = history[-1]["changed_at"]
    clocks = [ClockFact(**{f.name: c.get(f.name) for f in fields(ClockFact)}) for c in view["sla"]]
    if not overdue(clocks, since, now):
        return None
    return min(c.due_at for c in clocks if c.started_at >= since)


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead(request: Request, app: AppDep, who: ReadLeads, lead_id: LeadId) -> HTMLResponse:
    view = read_lead_record(app, who, lead_id, "dashboard", "lead page")
    if view is None:
        return message_page(request, 404, "No such lead", f"No lead has the id {lead_id}.", who)
    with app.db.view() as snapshot:
        route = snapshot.open_route(view["lead_id"])
        accesses = (
            snapshot.accesses_of([view["lead_id"], *view["aliases"]], 50)
            if who.view.access_log
            else None
        )
        tasks = snapshot.tasks(lead_id=view["lead_id"])
    profile = view["profile"]
    context = {
        "lead": view,
        "sla": _sla(view, app.clock()),
        "assign": assign_form(app, view["playbook"], route)
        if who.may(Permission.LEADS_ASSIGN)
        else None,
        "actions": view["allowed_actions"] if who.may(Permission.LEADS_ACT) else [],
        "tasks": tasks,
        "task_form": task_form(who.may(Permission.LEADS_ASSIGN)),
        "now": app.clock(),
        "reason_choices": reason_choices(app, view["playbook"]),
        "profile_fields": [(k, v) for k, v in profile.items() if k not in {"custom", "notes"}],
        "notes": profile.get("notes"),
        "custom": sorted((profile.get("custom") or {}).items()),
        "accesses": accesses,
    }
    return _page(request, "lead.html", "leads", context, who)


@router.post("/leads/{lead_id}/assign")
def assign(
    request: Request,
    app: AppDep,
    who: Assign,
    _csrf: CsrfChecked,
    lead_id: LeadId,
    owner: Annotated[str, Form(max_length=64)],
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Give the lead to another member of its team (the same service as the API)."""
    back = f"/leads/{quote(lead_id)}"
    try:
        app.db.run(
            lambda store: assign_lead(
                store, app.playbooks, lead_id, owner, actor=who.actor, at=app.clock(), reason=reason
            )
        )
    except LeadflowError as exc:
        return failed(back, str(exc))
    return RedirectResponse(f"{back}?done=assign", 303)


def _checked(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.post("/leads/{lead_id}/actions/{action}")
def act(
    request: Request,
    app: AppDep,
    who: Act,
    _csrf: CsrfChecked,
    lead_id: LeadId,
    action: SalesAction,
    reason: Annotated[str | None, Form(max_length=500)] = None,
    note: Annotated[str | None, Form(max_length=4000)] = None,
    need_confirmed: Annotated[str | None, Form()] = None,
    eligibility_confirmed: Annotated[str | None, Form()] = None,
    decision_path: Annotated[str | None, Form(max_length=500)] = None,
    timeline: Annotated[str | None, Form(max_length=200)] = None,
    no_timeline_reason: Annotated[str | None, Form(max_length=500)] = None,
    next_step: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    back = f"/leads/{quote(lead_id)}"
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
    try:
        app.db.run(
            lambda store: take_action(store, lead_id, action, props, app.context(who.actor, "web"))
        )
    except LeadflowError as exc:
        return failed(back, str(exc))
    return RedirectResponse(f"{back}?done={action.value}", 303)


def _my_member_ids(app: AppDep, who: Principal) -> set[str]:
    """The team member ids the signed-in person is, by email, in the shipped playbooks."""
    if who.user is None:
        return set()
    mine = set()
    for name in shipped_playbooks():
        for team in app.playbooks(name).teams:
            mine |= {m.id for m in team.members if m.email and m.email.casefold() == who.user.email}
    return mine


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    app: AppDep,
    who: ReadLeads,
    queue: Filter = None,
    mine: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    now = app.clock()
    owners = _my_member_ids(app, who) if mine else set()
    with app.db.view() as snapshot:
        if mine:
            rows = [
                row
                for owner in sorted(owners)
                for row in snapshot.work_queue(owner=owner, queue=queue or None)
            ]
        else:
            rows = snapshot.work_queue(queue=queue or None)
        tasks = snapshot.tasks(owners=sorted(owners) if mine else None)
    shown = app.redactor(who.raw_text)
    for row in rows:
        row["status"] = shown.text(row.get("status"))
        row["waiting"] = _ago(row["since"], now)
        due = row["sla_due_at"]
        # missed and not reached yet counts as overdue, whoever owns the lead now
        row["overdue"] = bool(due and due < now) or overdue(row["clocks"], row["since"], now)
        row["due_soon"] = bool(due and now <= due and (due - now).total_seconds() < 3600)
        running = [c for c in row["clocks"] if c.stopped_at is None and c.closed_at is None]
        row["due_what"] = label_of(running[-1].purpose) if running else ""
    queues = sorted({r["queue"] for r in rows if r["queue"]})
    context = {
        "rows": rows,
        "queue": queue,
        "queues": queues,
        "mine": mine,
        "me": sorted(owners),
        "any_sla": any(r["sla_due_at"] for r in rows),
        "tasks": [t | {"overdue": t["due_at"] <= now} for t in tasks],
        "task_form": task_form(who.may(Permission.LEADS_ASSIGN)),
    }
    return _page(request, "queue.html", "queue", context, who)


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks(request: Request, app: AppDep, who: ReadPlaybooks) -> HTMLResponse:
    found = [app.playbooks(name) for name in shipped_playbooks()]
    return _page(request, "playbooks.html", "playbooks", {"playbooks": found}, who)


@router.get("/playbooks/{name}", response_class=HTMLResponse)
def playbook(
    request: Request, app: AppDep, who: ReadPlaybooks, name: Annotated[str, Path(max_length=100)]
) -> HTMLResponse:
    if name not in shipped_playbooks():
        return message_page(
            request, 404, "No such playbook", f"No shipped playbook is named {name}.", who
        )
    compiled = app.playbooks(name)
    html = _markdown.render(render_definitions(compiled))
    return _page(request, "playbook.html", "playbooks", {"playbook": compiled, "html": html}, who)


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
    label_col = "label" if "label" in report.columns else report.columns[0]
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
    who: ReadReports,
    report: str = "funnel",
    by: str = "channel",
    playbook: Filter = None,
) -> HTMLResponse:
    name = report if report in REPORTS else "funnel"
    dimension = by if by in DIMENSIONS else "channel"
    filters = ReportFilters(playbook=playbook or None)
    with app.db.view() as snapshot:
        facts = snapshot.report_facts(filters, app.clock(), app.report_reasons())
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
    return _page(request, "reports.html", "reports", context, who)
