"""``/v1/leads``: post a lead, list and read leads, and take sales actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from leadflow.adapters.db.reader import BadCursorError, LeadFilters
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.domain.stages import SalesAction, Stage
from leadflow.entrypoints.api.deps import (
    Act,
    AppDep,
    IdempotencyKey,
    Ingest,
    ReadAccessLog,
    ReadLeads,
    Unmerge,
)
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.outputs import lead_written
from leadflow.entrypoints.api.records import lead_from_body
from leadflow.entrypoints.api.schemas import (
    AccessPageOut,
    ActionIn,
    ActionOut,
    ErrorOut,
    LeadIn,
    LeadOut,
    LeadPageOut,
    LeadWriteOut,
    UnmergeOut,
)
from leadflow.entrypoints.records import read_lead_record
from leadflow.errors import (
    HttpError,
    InvalidRecordError,
    PlaybookNotFoundError,
    RecordProblem,
    invalid_field,
)
from leadflow.services.store.intake import upsert_lead
from leadflow.services.store.sales import check_inputs, take_action
from leadflow.services.store.unmerge import unmerge_lead

router = APIRouter(prefix="/v1/leads", tags=["leads"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "an API key is required, or it is unknown"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
    404: {"model": ErrorOut, "description": "no such lead"},
    409: {"model": ErrorOut, "description": "conflict (see `error.code`)"},
    422: {"model": ErrorOut, "description": "invalid request; every bad field is named"},
}
# No NUL character in ids and filters: PostgreSQL cannot compare one.
TEXT = r"^[^\x00]*$"
LeadId = Annotated[
    str, Path(max_length=100, pattern=TEXT, description="a lead id (or an id merged into it)")
]


@router.post(
    "",
    status_code=201,
    response_model=LeadWriteOut,
    responses={200: {"model": LeadWriteOut, "description": "matched an existing lead"}, **ERRORS},
    summary="Create or update a lead and qualify it",
)
def post_lead(body: LeadIn, app: AppDep, who: Ingest, key: IdempotencyKey = None) -> Any:
    """Match the lead by id, email, phone or external id (merging duplicates), store it,
    and return its new decision. 201 when a lead was created, 200 when one was matched."""
    profile = lead_from_body(body)
    evidence = body.consent.model_dump(exclude_none=True) if body.consent else {}

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        ctx = app.context(who.actor, "api")
        try:
            result = upsert_lead(
                store,
                profile,
                ctx,
                external_id=body.external_id,
                consent_evidence=evidence,
                id_given=body.lead_id is not None,
            )
        except PlaybookNotFoundError as exc:
            problem = RecordProblem("request", 1, profile.lead_id, "playbook", str(exc))
            raise InvalidRecordError([problem]) from exc
        return (201 if result.created else 200), lead_written(result, app.redactor(who.raw_text))

    return run_idempotent(app, key, f"{who.actor}|POST /v1/leads", body.model_dump_json(), work)


@router.get("", response_model=LeadPageOut, responses=ERRORS, summary="List leads")
def get_leads(
    app: AppDep,
    who: ReadLeads,
    stage: Stage | None = None,
    playbook: Annotated[str | None, Query(max_length=100, pattern=TEXT)] = None,
    band: Annotated[str | None, Query(max_length=100, pattern=TEXT)] = None,
    owner: Annotated[str | None, Query(max_length=200, pattern=TEXT)] = None,
    source: Annotated[str | None, Query(max_length=200, pattern=TEXT)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=500, pattern=TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Leads newest first, filtered; follow `next_cursor` for the next page."""
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise invalid_field(name, "needs a time zone offset, e.g. Z")
    filters = LeadFilters(
        stage.value if stage else None, playbook, band, owner, source, created_from, created_to
    )
    try:
        with app.db.view() as view:
            items, next_cursor = view.leads(filters, cursor, limit)
    except BadCursorError as exc:
        raise invalid_field("cursor", str(exc)) from exc
    shown = app.redactor(who.raw_text)
    items = [{**i, "status": shown.text(i["status"])} for i in items]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{lead_id}", response_model=LeadOut, responses=ERRORS, summary="Read a lead")
def get_lead(lead_id: LeadId, app: AppDep, who: ReadLeads) -> Any:
    """Profile, decision with reasons and blockers, timeline, stage history and consents.
    Free text (notes, messages, rep notes) is as written for intake and admin, and redacted
    for other roles (`free_text` says which). Every read is recorded in the access log."""
    view = read_lead_record(app, who, lead_id, "api", "GET /v1/leads/{id}")
    if view is None:
        raise HttpError(404, "lead_not_found", f"no lead with id `{lead_id}`")
    return view


@router.get(
    "/{lead_id}/access",
    response_model=AccessPageOut,
    responses=ERRORS,
    summary="Who read a lead's record",
)
def get_access(lead_id: LeadId, app: AppDep, _who: ReadAccessLog) -> Any:
    """Every read of the lead's record (API, dashboard, export), newest first: who, with
    which role, when, through what, and whether free text was shown as written. Admin only."""
    with app.db.view() as view:
        ids = view.lead_and_aliases(lead_id)
        if ids is None:
            raise HttpError(404, "lead_not_found", f"no lead with id `{lead_id}`")
        items = view.accesses_of(ids)
    return {"lead_id": ids[0], "items": items}


@router.post(
    "/{lead_id}/actions/{action}",
    response_model=ActionOut,
    responses=ERRORS,
    summary="Take a sales or intake action",
)
def post_action(
    lead_id: LeadId,
    action: SalesAction,
    body: ActionIn,
    app: AppDep,
    who: Act,
    key: IdempotencyKey = None,
) -> Any:
    """Accept, reject, record discovery, schedule, disqualify, win or lose. The action is
    stored as an event and the lead re-qualified; a stage that does not allow the action
    answers 409 with the actions it does allow. Reject, disqualify and lose take a `reason`
    code the lead's playbook declares (422 `invalid_action` with the allowed codes
    otherwise) and an optional free-text `note`."""
    check_inputs(action, body.model_dump(exclude={"occurred_at"}))
    props = body.model_dump(exclude={"occurred_at"}, exclude_none=True)

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        ctx = app.context(who.actor, "api")
        when = body.occurred_at if body.occurred_at is not None else ctx.now
        if when.tzinfo is None:
            problem = RecordProblem("request", 1, lead_id, "occurred_at", "needs a time zone")
            raise InvalidRecordError([problem])
        result = take_action(store, lead_id, action, props, ctx, occurred_at=when)
        ((survivor, outcome),) = result.leads.items()
        return 200, {
            "lead_id": survivor,
            "action": action.value,
            "event_id": result.stored[0],
            "previous_stage": outcome.before,
            "stage_changed": outcome.changed,
            "decision": app.redactor(who.raw_text).decision(outcome.decision.to_record()),
        }

    scope = f"{who.actor}|POST /v1/leads/{lead_id}/actions/{action.value}"
    response: JSONResponse = run_idempotent(app, key, scope, body.model_dump_json(), work)
    return response


@router.post(
    "/{lead_id}/unmerge",
    response_model=UnmergeOut,
    responses=ERRORS,
    summary="Undo a merge",
)
def post_unmerge(lead_id: LeadId, app: AppDep, who: Unmerge) -> Any:
    """Give a lead merged into another back its own events, identities, consents and
    aliases; the other lead loses the fields the merge only filled in; both are decided
    again (audited, `lead.unmerged`). 409 `not_merged` for a lead that is not merged (or
    was merged before schema 0008). Admin only."""

    def work(store: SqlUnitOfWork) -> dict[str, Any]:
        done = unmerge_lead(store, lead_id, app.context(who.actor, "api"))
        return {
            "lead_id": done.restored,
            "unmerged_from": done.survivor,
            "cleared_fields": done.cleared_fields,
            "stages": {i: o.decision.stage.value for i, o in done.outcomes.items()},
        }

    return app.db.run(work)
