"""``/v1/webhooks/{source}``: signed deliveries from forms, call tracking and webinar tools.

Standard Webhooks signatures (HMAC-SHA256 over the id, the timestamp and the raw body; ±300 s;
several secrets per source for rotation). A delivery id seen before gets the first answer
again; the lead itself is deduplicated by the source's external id, email and phone, so the
same form sent five times with five delivery ids is still one lead. A source with a mapping
(``LEADFLOW_WEBHOOK_MAPPINGS``) posts its vendor's payload, turned into ``{lead, events}``
first; an event without an id of its own that repeats one of its lead within
``LEADFLOW_WEBHOOK_DEDUPE_HOURS`` is stored once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.webhooks import verify_webhook
from leadflow.adapters.webhooks.mapped import Mapped, apply_mapping
from leadflow.adapters.webhooks.mapping import SourceMapping
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.api.deps import AppDep
from leadflow.entrypoints.api.outputs import events_written, lead_written
from leadflow.entrypoints.api.records import events_from_records, lead_from_body
from leadflow.entrypoints.api.routes_leads import ERRORS
from leadflow.entrypoints.api.schemas import (
    ErrorOut,
    EventsOut,
    LeadIn,
    LeadWriteOut,
    Scalar,
    Strict,
)
from leadflow.entrypoints.bootstrap import App
from leadflow.errors import HttpError, InvalidRecordError, PlaybookNotFoundError, RecordProblem
from leadflow.services.store.content_dedupe import drop_recent_copies
from leadflow.services.store.intake import Context, EventsResult, record_events, upsert_lead

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookEventIn(Strict):
    """An event in a delivery; without `lead_id` it belongs to the delivery's lead."""

    event_id: str | None = Field(None, max_length=200)
    lead_id: str | None = Field(None, max_length=100)
    type: str = Field(max_length=40)
    occurred_at: Any = None
    properties: dict[str, Scalar] = Field(default_factory=dict, max_length=200)


class WebhookIn(Strict):
    """A delivery: a lead (a form submission), events, or both."""

    lead: LeadIn | None = None
    events: list[WebhookEventIn] = Field(default_factory=list, max_length=1000)


class WebhookOut(BaseModel):
    delivery_id: str
    lead: LeadWriteOut | None
    events: EventsOut | None


def _content_id(source: str, record: dict[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return f"{source}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _from(field: str | None, row: int | None, mapped: Mapped | None) -> tuple[str | None, str]:
    """Where a problem with ``field`` came from: its JSON path when a mapping gave it."""
    path = mapped.path_of(field, row) if mapped is not None and field else None
    return (path, f" (`{field}`)") if path else (field, "")


def _parse(raw: bytes, mapping: SourceMapping | None) -> tuple[WebhookIn, Mapped | None]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpError(422, "invalid_json", "the body is not JSON") from exc
    mapped = apply_mapping(mapping, data) if mapping is not None else None
    try:
        return WebhookIn.model_validate(mapped.body if mapped else data), mapped
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            row = (
                int(loc[1]) + 1
                if loc[:1] == ["events"] and len(loc) > 1 and loc[1].isdigit()
                else None
            )
            name = ".".join(p for p in loc if not p.isdigit()) if row else ".".join(loc)
            field, note = _from(name or None, row, mapped)
            problems.append({"field": field, "row": row, "message": e["msg"] + note})
        raise HttpError(
            422, "invalid_request", f"{len(problems)} invalid field(s)", problems
        ) from exc


@router.post(
    "/{source}",
    response_model=WebhookOut,
    responses={
        401: {"model": ErrorOut, "description": "the signature did not verify"},
        **ERRORS,
    },
    summary="Receive a signed webhook delivery",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WebhookIn.model_json_schema()}},
        }
    },
)
async def post_webhook(
    source: Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")],
    request: Request,
    app: AppDep,
    wait: Annotated[
        Literal["decision"] | None,
        Query(description="`decision`: decide the lead before answering."),
    ] = None,
) -> Any:
    """Verify, deduplicate by delivery id, then store the lead and events. By default the
    lead and events are stored and a decider decides the lead (`202 Accepted`, `queued`);
    with `?wait=decision` the request decides it, like `/v1/leads` does."""
    secrets = app.settings.webhook_secrets.get(source)
    if not secrets:
        raise HttpError(
            404, "unknown_webhook_source", f"no webhook source `{source}` is configured"
        )
    raw = await request.body()
    delivery_id = verify_webhook(
        request.headers, raw, secrets, app.clock(), app.settings.webhook_tolerance_s
    )
    payload, mapped = _parse(raw, app.webhook_sources.get(source))
    defer = wait != "decision"
    return await run_in_threadpool(_deliver, app, source, delivery_id, payload, mapped, defer)


def _event_records(
    source: str, delivery_id: str, payload: WebhookIn, lead_id: str | None
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for item in payload.events:
        record = {
            "lead_id": item.lead_id or lead_id,
            "type": item.type,
            "occurred_at": item.occurred_at,
            "properties": item.properties,
        }
        # Without an id, the same event sent again (a retried delivery under a new delivery
        # id) gets the same id from its content, so it is stored once. An event without a
        # time happens at receipt, so only its delivery names it.
        key = record if item.occurred_at is not None else {**record, "d": delivery_id}
        record["event_id"] = item.event_id or _content_id(source, key)
        records.append(record)
    return records


def _prefixed(
    problems: list[RecordProblem], prefix: str, mapped: Mapped | None
) -> list[RecordProblem]:
    located = []
    for p in problems:
        field, note = _from(f"{prefix}{p.field}" if p.field else prefix.rstrip("."), p.row, mapped)
        located.append(replace(p, field=field, message=p.message + note))
    return located


def _check(
    app: App, source: str, delivery_id: str, payload: WebhookIn, mapped: Mapped | None
) -> LeadProfile | None:
    """The delivery's lead, after checking the lead and every event: all problems at once."""
    problems: list[RecordProblem] = []
    profile = None
    if payload.lead is not None:
        try:
            profile = lead_from_body(payload.lead)
        except InvalidRecordError as exc:
            problems += _prefixed(exc.problems, "lead.", mapped)
    if payload.events:
        placeholder = "(the delivery's lead)" if payload.lead is not None else None
        records = _event_records(source, delivery_id, payload, placeholder)
        try:
            events_from_records(records, app.clock(), app.settings.future_skew_s)
        except InvalidRecordError as exc:
            problems += _prefixed(exc.problems, "events.", mapped)
    if problems:
        raise InvalidRecordError(problems)
    return profile


def _store_events(
    app: App, store: SqlUnitOfWork, records: list[dict[str, Any]], keyed: set[str], ctx: Context
) -> EventsResult:
    """Store the delivery's events but the content copies of events of the same lead."""
    events = events_from_records(records, ctx.now, app.settings.future_skew_s)
    source = app.webhook_sources.get(ctx.source.removeprefix("webhook:"))
    found = drop_recent_copies(
        store,
        events,
        keyed=keyed,
        window=timedelta(hours=app.settings.webhook_dedupe_hours),
        ignore=source.ignore_properties if source else (),
    )
    result = record_events(store, found.kept, ctx) if found.kept else EventsResult()
    result.duplicates.extend(found.copies.values())
    return result


def _deliver(
    app: App,
    source: str,
    delivery_id: str,
    payload: WebhookIn,
    mapped: Mapped | None,
    defer: bool,
) -> JSONResponse:
    origin = f"webhook:{source}"
    profile = _check(app, source, delivery_id, payload, mapped)

    def unit(store: SqlUnitOfWork) -> tuple[int, dict[str, Any], bool]:
        if not store.requests.claim_key(f"webhook|{source}|{delivery_id}"):
            raise HttpError(409, "delivery_in_progress", "this delivery is being processed")
        seen = store.requests.delivery(source, delivery_id)
        if seen is not None:
            return seen[0], seen[1], True
        ctx = app.context(origin, origin, defer=defer)
        body: dict[str, Any] = {"delivery_id": delivery_id, "lead": None, "events": None}
        lead_id = None
        if payload.lead is not None and profile is not None:
            evidence = (
                payload.lead.consent.model_dump(exclude_none=True) if payload.lead.consent else {}
            )
            try:
                result = upsert_lead(
                    store,
                    profile,
                    ctx,
                    external_id=payload.lead.external_id,
                    consent_evidence=evidence,
                    id_given=payload.lead.lead_id is not None,
                )
            except PlaybookNotFoundError as exc:
                problem = RecordProblem("request", 1, profile.lead_id, "lead.playbook", str(exc))
                raise InvalidRecordError([problem]) from exc
            lead_id = result.lead_id
            body["lead"] = lead_written(result, app.redactor(raw=False))
        if payload.events:
            records = _event_records(source, delivery_id, payload, lead_id)
            keyed = {
                r["event_id"]
                for r, item in zip(records, payload.events, strict=True)
                if item.event_id is None
            }
            written = _store_events(app, store, records, keyed, ctx)
            body["events"] = events_written(written, app.redactor(raw=False))
        status = 201 if body["lead"] and body["lead"]["created"] else 200
        if (body["lead"] and body["lead"].get("queued")) or (body["events"] or {}).get("queued"):
            status = 202
        store.requests.save_delivery(source, delivery_id, status, body, ctx.now)
        return status, body, False

    status, body, replayed = app.db.run(unit)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status, headers=headers)
