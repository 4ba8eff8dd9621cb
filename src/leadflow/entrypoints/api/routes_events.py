"""``/v1/events``: append one event or a batch; a decider decides each touched lead
(``202 Accepted``), or the request does (``?wait=decision``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.api.deps import AppDep, IdempotencyKey, Ingest
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.outputs import events_written
from leadflow.entrypoints.api.records import event_record, events_from_records
from leadflow.entrypoints.api.routes_leads import ERRORS
from leadflow.entrypoints.api.schemas import EventBatchIn, EventIn, EventsOut
from leadflow.errors import HttpError
from leadflow.services.store.intake import record_events

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post(
    "",
    status_code=202,
    response_model=EventsOut,
    responses={
        200: {"model": EventsOut, "description": "every event was a copy"},
        201: {"model": EventsOut, "description": "stored and decided (`?wait=decision`)"},
        **ERRORS,
    },
    summary="Append events",
)
def post_events(
    body: Annotated[EventIn | EventBatchIn, Body()],
    app: AppDep,
    who: Ingest,
    key: IdempotencyKey = None,
    wait: Annotated[
        Literal["decision"] | None,
        Query(description="`decision`: decide the touched leads before answering (201)."),
    ] = None,
) -> Any:
    """One event, or `{"events": [...]}`: stored together or not at all. An event id sent
    again with the same content is skipped (listed in `duplicates`); with other content it
    is a 409.

    By default the events are appended and the request answers `202 Accepted` at once with
    the touched leads in `queued`: a decider (`leadflow worker`, or the one in
    `leadflow serve`) decides each of them within seconds. With `?wait=decision` the
    request decides them itself and answers `201 Created` with each lead's new stage in
    `leads` (for a form that shows the next step)."""
    decide_now = wait == "decision"
    items = body.events if isinstance(body, EventBatchIn) else [body]
    if len(items) > app.settings.max_batch:
        raise HttpError(
            422,
            "batch_too_large",
            f"at most {app.settings.max_batch} events per request",
            [{"field": "events", "row": None, "message": f"{len(items)} events"}],
        )
    records = [event_record(item) for item in items]

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        ctx = app.context(who.actor, "api", defer=not decide_now)
        events = events_from_records(records, ctx.now, app.settings.future_skew_s)
        result = record_events(store, events, ctx)
        status = (201 if decide_now else 202) if result.stored else 200
        return status, events_written(result, app.redactor(who.raw_text))

    scope = f"{who.actor}|POST /v1/events" + ("?wait=decision" if decide_now else "")
    return run_idempotent(app, key, scope, body.model_dump_json(), work)
