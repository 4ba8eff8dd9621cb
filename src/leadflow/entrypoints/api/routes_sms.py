"""``/v1/sms/inbound``: a reply to a text. A stop keyword revokes SMS consent at once.

The replying number is matched to a lead by its E.164 phone identity. A reply that is exactly
one of the stop keywords (``classify_sms_reply``) is recorded as an ``unsubscribed`` event for
``sms`` and that number, through the same intake as every other event: the consent row, the
audit record, the lead's re-qualification (and its leaving nurture) commit together, and a
queued text is refused when the worker next tries it, and one confirmation text is queued
(``stop_confirmation``: sent within 5 minutes or not at all, at most once a day per number).
Any other reply is kept for review and pauses sending to the lead until a person has looked
at it and says so with ``POST /v1/leads/{lead_id}/sms-review``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.records.values import normalise_phone, phone_region
from leadflow.domain.contact_rules import classify_sms_reply
from leadflow.domain.events import Event, EventType
from leadflow.entrypoints.api.deps import AppDep, IdempotencyKey, Ingest, Review
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.routes_leads import ERRORS, LeadId
from leadflow.entrypoints.api.schemas import Strict
from leadflow.entrypoints.bootstrap import App
from leadflow.errors import HttpError, LeadflowError
from leadflow.services.optout import (
    queue_stop_confirmation,
    sender_name,
    stop_confirmation_text,
)
from leadflow.services.store.intake import new_id, record_events
from leadflow.services.store.ports import AuditEntry, IdentityKey

router = APIRouter(prefix="/v1/sms", tags=["sms"])
review_router = APIRouter(prefix="/v1/leads", tags=["sms"])


class SmsIn(Strict):
    """An inbound text as the SMS provider reports it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", max_length=40, pattern=r"^[^\x00]*$")
    body: str = Field(max_length=2000, pattern=r"^[^\x00]*$")
    received_at: datetime | None = Field(
        None, description="when the provider received it (no offset: UTC); default: now"
    )


class SmsOut(BaseModel):
    lead_id: str
    action: Literal["revoked", "flagged_for_review"]


def _not_found() -> HttpError:
    return HttpError(404, "lead_not_found", "no lead has the replying phone number")


def _sender(app: App, store: SqlUnitOfWork, lead_id: str) -> str:
    """Who the confirmation is from: the setting, else the lead's playbook's organisation."""
    lead = store.leads.get_lead(lead_id)
    try:
        name = app.playbooks(lead.playbook).name if lead else ""
    except LeadflowError:
        name = ""
    return sender_name(app.settings.sms_sender_name, name)


@router.post("/inbound", response_model=SmsOut, responses=ERRORS, summary="Receive an SMS reply")
def post_inbound_sms(body: SmsIn, app: AppDep, who: Ingest, key: IdempotencyKey = None) -> Any:
    """A stop keyword (`stop`, `quit`, `end`, `revoke`, `opt out`, `cancel`, `unsubscribe`, any
    case) revokes SMS consent for the replying number at once; any other text is flagged for
    review and pauses sending. An unknown number is a 404. Send the provider's message id as
    `Idempotency-Key` so that a redelivered reply is recorded once."""
    number = normalise_phone(body.from_, phone_region(None))
    if number is None:
        raise _not_found()
    received = body.received_at
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=UTC)

    def work(store: SqlUnitOfWork) -> tuple[int, dict[str, Any]]:
        found = store.leads.leads_by_identity([IdentityKey("phone", number)])
        if not found:
            raise _not_found()
        lead_id = found[0]
        ctx = app.context(who.actor, "sms")
        at = min(received or ctx.now, ctx.now)
        if classify_sms_reply(body.body) == "stop":
            event = Event(
                new_id("sms"),
                lead_id,
                EventType.UNSUBSCRIBED,
                at,
                {"channel": "sms", "contact_point": number, "method": "sms_reply"},
            )
            record_events(store, [event], ctx)
            text = stop_confirmation_text(_sender(app, store, lead_id))
            queue_stop_confirmation(store, lead_id, number, text, at)
            return 200, {"lead_id": lead_id, "action": "revoked"}
        lead = store.leads.get_lead(lead_id)
        known = (lead.profile,) if lead is not None else ()
        store.nurture.add_sms_reply(
            lead_id, number, body.body, ctx.now, ctx.scan_text(body.body, *known)
        )
        store.audit.append(
            AuditEntry(
                at=ctx.now,
                actor=ctx.actor,
                action="sms.reply_flagged",
                entity="lead",
                entity_id=lead_id,
                after={"channel": "sms"},
                reason="a free-text reply awaits review; sending is paused",
            )
        )
        return 200, {"lead_id": lead_id, "action": "flagged_for_review"}

    scope = f"{who.actor}|POST /v1/sms/inbound"
    return run_idempotent(app, key, scope, body.model_dump_json(by_alias=True), work)


class ReviewOut(BaseModel):
    lead_id: str
    reviewed: int = Field(description="replies marked reviewed")


@review_router.post(
    "/{lead_id}/sms-review",
    response_model=ReviewOut,
    responses=ERRORS,
    summary="Mark the lead's SMS replies reviewed",
)
def post_sms_review(lead_id: LeadId, app: AppDep, who: Review) -> Any:
    """A person has read the lead's free-text replies: they are marked reviewed and sending
    to the lead resumes (audited `sms.reviewed`). 404 for an unknown lead; 409
    `nothing_to_review` when no reply awaits review."""

    def work(store: SqlUnitOfWork) -> dict[str, Any]:
        lead = store.leads.get_lead(lead_id)
        if lead is None:
            raise HttpError(404, "lead_not_found", f"no lead with id `{lead_id}`")
        reviewed = store.nurture.clear_review(lead.lead_id)
        if not reviewed:
            raise HttpError(
                409, "nothing_to_review", f"no SMS reply of lead `{lead.lead_id}` awaits review"
            )
        now = app.clock()
        store.audit.append(
            AuditEntry(
                at=now,
                actor=who.actor,
                action="sms.reviewed",
                entity="lead",
                entity_id=lead.lead_id,
                before={"awaiting_review": reviewed},
                after={"awaiting_review": 0},
                reason="the free-text replies were reviewed; sending resumes",
            )
        )
        return {"lead_id": lead.lead_id, "reviewed": reviewed}

    return app.db.run(work)
