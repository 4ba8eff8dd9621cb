"""``/v1/sms/inbound``: a reply to a text. A stop keyword revokes SMS consent at once.

The replying number is matched to a lead by its E.164 phone identity. A reply that is exactly
one of the stop keywords (``classify_sms_reply``) is recorded as an ``unsubscribed`` event for
``sms`` and that number, through the same intake as every other event: the consent row, the
audit record, the lead's re-qualification (and its leaving nurture) commit together, and a
queued text is refused when the worker next tries it. Any other reply is kept for review and
pauses sending to the lead until a person has looked at it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from leadflow.adapters.db.store import SqlLeadStore
from leadflow.adapters.records.values import normalise_phone, phone_region
from leadflow.domain.contact_rules import classify_sms_reply
from leadflow.domain.events import Event, EventType
from leadflow.entrypoints.api.deps import AppDep, IdempotencyKey, Ingest
from leadflow.entrypoints.api.errors import ApiError
from leadflow.entrypoints.api.idempotency import run_idempotent
from leadflow.entrypoints.api.routes_leads import ERRORS
from leadflow.entrypoints.api.schemas import Strict
from leadflow.services.store.intake import new_id, record_events
from leadflow.services.store.ports import AuditEntry, IdentityKey

router = APIRouter(prefix="/v1/sms", tags=["sms"])


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


def _not_found() -> ApiError:
    return ApiError(404, "lead_not_found", "no lead has the replying phone number")


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

    def work(store: SqlLeadStore) -> tuple[int, dict[str, Any]]:
        found = store.leads_by_identity([IdentityKey("phone", number)])
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
            return 200, {"lead_id": lead_id, "action": "revoked"}
        store.add_sms_reply(lead_id, number, body.body, ctx.now)
        store.append_audit(
            AuditEntry(
                ctx.now,
                ctx.actor,
                "sms.reply_flagged",
                "lead",
                lead_id,
                after={"channel": "sms"},
                reason="a free-text reply awaits review; sending is paused",
            )
        )
        return 200, {"lead_id": lead_id, "action": "flagged_for_review"}

    scope = f"{who.actor}|POST /v1/sms/inbound"
    return run_idempotent(app, key, scope, body.model_dump_json(by_alias=True), work)
