"""Request and response bodies of the HTTP API (these make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Scalar = str | int | float | bool | None


class Strict(BaseModel):
    """A request body: unknown fields are errors, and no text may hold a NUL character
    (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # Text inside `properties` and `custom` is checked by the record parsers, which
        # name the key (`properties.url`).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character")
        return value


class ConsentEvidenceIn(Strict):
    """How consent on the lead's ``consent_*`` flags was captured (COMPLIANCE.md)."""

    purpose: str | None = Field(None, max_length=100, examples=["marketing"])
    method: str | None = Field(None, max_length=100, examples=["web_form_checkbox"])
    disclosure_version: str | None = Field(None, max_length=100, examples=["2026-01"])
    page_url: str | None = Field(None, max_length=2000)
    user_agent: str | None = Field(None, max_length=1000)
    text: str | None = Field(None, max_length=4000, description="the disclosure shown")


class LeadIn(Strict):
    """A lead: the contract's fields; other fields go in ``custom``."""

    lead_id: str | None = Field(
        None, max_length=100, description="your id for the lead; one is made when omitted"
    )
    external_id: str | None = Field(
        None, max_length=200, description="the sending system's id (deduplicated per source)"
    )
    lead_type: str | None = Field(None, max_length=40, examples=["patient"])
    playbook: str | None = Field(None, max_length=100, examples=["specialty-clinic"])
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    organization: str | None = Field(None, max_length=300)
    role: str | None = Field(None, max_length=200)
    org_type: str | None = Field(None, max_length=100)
    service_line: str | None = Field(None, max_length=100)
    specialty: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    state: str | None = Field(None, max_length=50)
    country: str | None = Field(None, max_length=60)
    source: str | None = Field(None, max_length=200)
    channel: str | None = Field(None, max_length=100)
    campaign: str | None = Field(None, max_length=200)
    offer: str | None = Field(None, max_length=200)
    created_at: datetime | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_phone: bool | None = None
    notes: str | None = Field(None, max_length=10_000)
    custom: dict[str, str] = Field(default_factory=dict, max_length=200)
    consent: ConsentEvidenceIn | None = None


class EventIn(Strict):
    """One event of a lead's timeline."""

    event_id: str | None = Field(
        None, max_length=200, description="unique id; re-sending the same event is harmless"
    )
    lead_id: str = Field(max_length=100)
    type: str = Field(max_length=40, examples=["page_viewed"])
    occurred_at: str | None = Field(
        None,
        max_length=40,
        description="ISO-8601 (no offset: UTC; a date alone: midnight UTC); default: "
        "when the server receives it",
        examples=["2026-03-05T10:00:00Z"],
    )
    properties: dict[str, Scalar] = Field(default_factory=dict, max_length=200)


class EventBatchIn(Strict):
    """Several events in one request, stored together or not at all."""

    events: list[EventIn] = Field(min_length=1)


class ActionIn(Strict):
    """A sales or intake action; which fields matter depends on the action."""

    reason: str | None = Field(
        None,
        max_length=500,
        description="required for reject, disqualify and lose: a reason code the lead's "
        "playbook declares for the action (`GET /v1/playbooks` lists them); case and spacing "
        "do not matter (`Not ready` is stored as `not_ready`); another value is a 422 "
        "`invalid_action` whose `allowed` lists the codes",
        examples=["not_ready"],
    )
    note: str | None = Field(
        None,
        max_length=4000,
        description="free text kept beside the reason code (redacted below the intake role)",
    )
    need_confirmed: bool | None = None
    decision_path: str | None = Field(None, max_length=500)
    timeline: str | None = Field(None, max_length=200)
    no_timeline_reason: str | None = Field(None, max_length=500)
    eligibility_confirmed: bool | None = None
    next_step: str | None = Field(None, max_length=500)
    channel: str | None = Field(None, max_length=20)
    occurred_at: datetime | None = Field(None, description="when it happened (default: now)")


class ReasonOut(BaseModel):
    rule: str
    label: str
    points: float
    evidence: list[str]


class BlockerOut(BaseModel):
    rule: str
    label: str


class RouteOut(BaseModel):
    queue: str | None
    owner: str | None
    sla_due_at: str | None


class PlaybookRefOut(BaseModel):
    id: str
    version: str


class DecisionOut(BaseModel):
    """The decision record (the contract in PRODUCT.md)."""

    lead_id: str
    stage: str
    status: str
    fit_score: float
    intent_score: float
    band: str
    reasons: list[ReasonOut]
    blockers: list[BlockerOut]
    disqualification_reason: str | None
    next_action: str
    route: RouteOut
    playbook: PlaybookRefOut


class RelatedOut(BaseModel):
    """Another lead kept apart from this one but related to it (ids only)."""

    lead_id: str
    relation: Literal["household"] = Field(
        description="`household`: they share a phone but not a name or email"
    )


class UnmergeOut(BaseModel):
    """Both leads after a merge was undone, with their new stages."""

    lead_id: str = Field(description="the lead that is its own lead again")
    unmerged_from: str = Field(description="the lead it had been merged into")
    cleared_fields: list[str] = Field(
        description="fields the merge had filled in from it, cleared from the other lead"
    )
    stages: dict[str, str] = Field(description="each lead's stage, decided again")


class LeadWriteOut(BaseModel):
    """What a posted lead became."""

    lead_id: str
    created: bool
    merged_leads: list[str]
    changed_fields: list[str]
    kept_fields: list[str] = Field(
        default_factory=list,
        description="posted fields not taken: the value would have replaced a fuller or "
        "valid one (a name's initial, an invalid email)",
    )
    related_leads: list[RelatedOut] = Field(
        default_factory=list,
        description="leads kept apart from this one because only the phone matched",
    )
    previous_stage: str | None
    stage_changed: bool | None
    decision: DecisionOut | None = Field(
        description="the new decision (`null`: queued for a decider, see `queued`)"
    )
    queued: bool = False


class LeadStageOut(BaseModel):
    lead_id: str
    previous_stage: str | None
    stage: str
    status: str
    stage_changed: bool


class EventsOut(BaseModel):
    """Events stored, copies skipped, and each touched lead's stage (`?wait=decision`) or
    the leads queued for a decider (`202 Accepted`)."""

    stored: list[str]
    duplicates: list[str]
    leads: list[LeadStageOut]
    queued: list[str] = []


class ActionOut(BaseModel):
    lead_id: str
    action: str
    event_id: str
    previous_stage: str | None
    stage_changed: bool
    decision: DecisionOut


class EventOut(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime
    properties: dict[str, Any]
    source: str | None
    actor: str


class StageChangeOut(BaseModel):
    from_stage: str | None
    to_stage: str
    status: str
    reasons: list[dict[str, Any]]
    playbook: PlaybookRefOut
    changed_at: datetime
    actor: str
    event_id: str | None


class ConsentOut(BaseModel):
    channel: str
    purpose: str
    contact_point: str | None
    status: str
    active: bool
    captured_at: datetime
    source: str
    method: str
    disclosure_version: str | None
    evidence: dict[str, Any]
    revoked_at: datetime | None
    revoked_how: str | None
    event_id: str | None


class AssignmentOut(BaseModel):
    """One change of a lead's owner (``reason``: routed, requeued, manual…, sla_reassigned)."""

    at: datetime
    queue: str | None
    team: str | None
    from_owner: str | None
    to_owner: str | None
    reason: str
    actor: str


class SlaClockOut(BaseModel):
    """An SLA clock; running while neither stopped by the event it waits for nor closed."""

    stage: str
    purpose: str = Field(
        description="what was due: first_outreach, discovery, appointment, process_call, "
        "next_step, follow_up or recheck"
    )
    queue: str
    owner: str | None
    sla: str
    started_at: datetime
    due_at: datetime
    reminded_at: datetime | None
    breached_at: datetime | None
    escalated_to: str | None
    reassigned_at: datetime | None
    stopped_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None


class LeadOut(BaseModel):
    """A lead with everything about it."""

    lead_id: str
    aliases: list[str]
    related: list[RelatedOut] = Field(
        default_factory=list, description="leads kept apart but related (ids and relation)"
    )
    playbook: str
    created_at: datetime
    profile: dict[str, Any]
    decision: DecisionOut | None
    decision_pending: bool = Field(
        False, description="events of the lead wait for a decider: `decision` is not yet theirs"
    )
    allowed_actions: list[str]
    timeline: list[EventOut]
    stage_history: list[StageChangeOut]
    consents: list[ConsentOut]
    assignments: list[AssignmentOut] = Field(
        default_factory=list, description="every change of owner, oldest first"
    )
    sla: list[SlaClockOut] = Field(
        default_factory=list, description="first-outreach clocks, oldest first"
    )
    free_text: Literal["raw", "redacted"] = Field(
        "raw",
        description="`redacted`: notes, messages and other free text have the person's name, "
        "email, phone and clinical terms replaced by markers such as `[condition]`",
    )


class AccessOut(BaseModel):
    """One read of a lead's record."""

    at: datetime
    actor: str
    role: str
    channel: str = Field(description="`api`, `dashboard` or `export`")
    what: str
    free_text: str = Field(description="`raw` or `redacted`: how free text was shown")
    lead_id: str = Field(description="the id the record was read under")


class AccessPageOut(BaseModel):
    lead_id: str
    items: list[AccessOut]


class LeadSummaryOut(BaseModel):
    lead_id: str
    playbook: str
    lead_type: str | None
    source: str | None
    created_at: datetime
    stage: str | None
    status: str | None
    band: str | None
    fit_score: float | None
    intent_score: float | None
    owner: str | None
    queue: str | None
    sla_due_at: datetime | None = Field(
        None, description="when the first outreach is due (the running SLA clock), if any"
    )


class LeadPageOut(BaseModel):
    items: list[LeadSummaryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ReasonCodeOut(BaseModel):
    code: str
    label: str


class PlaybookReasonsOut(BaseModel):
    """The reason codes each action takes (docs/playbooks.md, `reasons`)."""

    reject: list[ReasonCodeOut]
    disqualify: list[ReasonCodeOut]
    lose: list[ReasonCodeOut]


class PlaybookOut(BaseModel):
    id: str
    name: str
    version: str
    description: str
    lead_types: list[str]
    reasons: PlaybookReasonsOut


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str
    schema_revision: str | None


class ProblemOut(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    field: str | None = Field(description="the field, e.g. `email` or `events.2.occurred_at`")
    row: int | None = Field(None, description="1-based item number within a batch")
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    problems: list[ProblemOut] = Field(description="every bad field; empty for other errors")
    allowed: list[str] | None = Field(
        None,
        description="with `action_not_allowed`: the actions the stage allows; with "
        "`invalid_action` on `reason`: the reason codes the lead's playbook declares",
    )


class ErrorOut(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorBody


# What any /v1 request may meet before its route runs (see guards.py and deps.py).
GUARDED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "`bad_host`: open local mode, another Host name"},
    413: {"model": ErrorOut, "description": "`payload_too_large`: the body is over the limit"},
    429: {
        "model": ErrorOut,
        "description": "`rate_limited`: too many requests; see `Retry-After`",
        "headers": {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        },
    },
}
