"""Routing by hand: assign a lead, the teams and their load, members' absences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.api.deps import AppDep, IdempotencyKey, ReadTeams, Route
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.routes_leads import ERRORS, TEXT, LeadId
from leadflow.entrypoints.api.schemas_routing import (
    AbsenceIn,
    AbsenceOut,
    AssignIn,
    AssignOut,
    TeamOut,
)
from leadflow.services.routing.people import (
    assign_lead,
    check_member,
    record_absence,
    team_overview,
    teams_of,
)

router = APIRouter(tags=["routing"])
NO_LEAD: dict[int | str, dict[str, Any]] = {code: ERRORS[code] for code in (401, 403, 422)}
MemberId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=TEXT, description="a team member's id")
]


@router.post(
    "/v1/leads/{lead_id}/assign",
    response_model=AssignOut,
    responses=ERRORS,
    summary="Assign a lead to a team member by hand",
)
def post_assign(
    lead_id: LeadId, body: AssignIn, app: AppDep, who: Route, key: IdempotencyKey = None
) -> Any:
    """Give a lead in a routed stage to `owner`, a member of its queue's team; its running
    SLA clock follows. Audited (`lead.assigned`) with a `lead.assigned` webhook. 409
    `not_routed` when the lead has no queue with a team, 422 `unknown_member` when `owner`
    is not on that team."""

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        now = app.clock()
        done = assign_lead(
            store, app.playbooks, lead_id, body.owner, actor=who.actor, at=now, reason=body.reason
        )
        route = done.route
        last = store.view.assignment_history(route.lead_id)[-1] if done.changed else None
        out = {
            "lead_id": route.lead_id,
            "changed": done.changed,
            "route": {
                "queue": route.queue,
                "owner": route.owner,
                "sla_due_at": done.sla_due_at.isoformat() if done.sla_due_at else None,
            },
            "assignment": last,
        }
        return 200, AssignOut.model_validate(out).model_dump(mode="json")

    scope = f"{who.actor}|POST /v1/leads/{lead_id}/assign"
    response: JSONResponse = run_idempotent(app, key, scope, body.model_dump_json(), work)
    return response


@router.get(
    "/v1/teams", response_model=list[TeamOut], responses=NO_LEAD, summary="Teams and their load"
)
def get_teams(app: AppDep, _who: ReadTeams) -> Any:
    """Every team of the playbooks in use: hours, holidays, escalation lead, assignment
    strategy, and each member's capacity, working days, open leads and absence (no lead
    data)."""
    with app.db.view() as view:
        playbooks = view.playbooks_in_use(app.playbooks)
        loads = view.open_loads()
        away = view.away_until(app.clock())
    return [team_overview(p, t, loads, away) for p, t in teams_of(playbooks)]


@router.post(
    "/v1/members/{member_id}/absences",
    status_code=201,
    response_model=AbsenceOut,
    responses=NO_LEAD,
    summary="Record that a member is out of office",
)
def post_absence(
    member_id: MemberId, body: AbsenceIn, app: AppDep, who: Route, key: IdempotencyKey = None
) -> Any:
    """From `starts_at` until `ends_at` the member is given no new leads (leads they hold
    stay theirs). Audited (`member.absent`). 422 `unknown_member` when no team of the
    playbooks in use has the member, `invalid_record` when `ends_at` is not after
    `starts_at`."""
    with app.db.view() as view:
        playbooks = view.playbooks_in_use(app.playbooks)

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        absence_id = record_absence(
            store,
            playbooks,
            member_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            note=body.note,
            actor=who.actor,
            at=app.clock(),
        )
        (created,) = [a for a in store.view.absences_of(member_id) if a["id"] == absence_id]
        return 201, AbsenceOut.model_validate(created).model_dump(mode="json")

    scope = f"{who.actor}|POST /v1/members/{member_id}/absences"
    response: JSONResponse = run_idempotent(app, key, scope, body.model_dump_json(), work)
    return response


@router.get(
    "/v1/members/{member_id}/absences",
    response_model=list[AbsenceOut],
    responses=NO_LEAD,
    summary="A member's absences",
)
def get_absences(member_id: MemberId, app: AppDep, _who: ReadTeams) -> Any:
    """Every recorded absence of the member, by start (past ones included)."""
    with app.db.view() as view:
        check_member(view.playbooks_in_use(app.playbooks), member_id, "member_id")
        return view.absences_of(member_id)
