"""The database schema: SQLAlchemy 2.0 typed models with portable column types.

Every table works the same on SQLite (the embedded default) and PostgreSQL: times are stored
in UTC and read back timezone-aware, JSON is ``JSON`` (``JSONB`` on PostgreSQL), and integer
keys are ``BIGINT`` on PostgreSQL. ``events``, ``consents``, ``stage_history`` and
``audit_log`` are append-only: nothing in leadflow updates or deletes their rows (the
``lead_id`` of events and consents moves to the surviving lead when two leads merge, and
that move is audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

# Base is re-exported: whoever imports it from here has every table registered on it.
from leadflow.adapters.db.tables_base import Base as Base  # noqa: PLC0414
from leadflow.adapters.db.tables_base import BigId, Json


class LeadRow(Base):
    """A lead's first-known profile; later changes are ``profile_updated`` events."""

    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    playbook: Mapped[str] = mapped_column(String(100), index=True)
    lead_type: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(200), index=True)
    profile: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), index=True)
    # free text of ``profile`` as scanned at ingest (migration 0005; None: not scanned)
    redacted: Mapped[dict[str, Any] | None] = mapped_column(Json)


class IdentityRow(Base):
    """A normalised email, an E.164 phone or a source's external id that names one lead."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "source", "value", name="uq_identities_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime]


class LeadLinkRow(Base):
    """Two leads linked: ``household`` (people sharing a phone, kept apart) or ``merged``
    (``related_id`` merged into ``lead_id``; ``moved`` lists the rows the merge moved, by
    id, so that an unmerge moves exactly those back; ``ended_at``: unmerged). Migration 0008.
    """

    __tablename__ = "lead_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    related_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    moved: Mapped[dict[str, Any] | None] = mapped_column(Json)
    ended_at: Mapped[datetime | None]


class EventRow(Base):
    """One event of a lead's timeline (append-only)."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    # free-text properties as scanned at ingest (migration 0005; None: not scanned)
    redacted: Mapped[dict[str, Any] | None] = mapped_column(Json)


class DecisionRow(Base):
    """The current decision of a lead (replaced on every re-qualification)."""

    __tablename__ = "decisions"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(200))
    band: Mapped[str] = mapped_column(String(100), index=True)
    fit_score: Mapped[float] = mapped_column(Float)
    intent_score: Mapped[float] = mapped_column(Float)
    queue: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    sla_due_at: Mapped[datetime | None]
    playbook_id: Mapped[str] = mapped_column(String(100))
    playbook_version: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime]
    record: Mapped[dict[str, Any]]
    # when time alone may change the decision (decay, a recheck date); the worker re-decides
    # the lead then (migration 0006; None: never, a final stage)
    next_change_at: Mapped[datetime | None] = mapped_column(index=True)


class StageChangeRow(Base):
    """A stage change: from, to, why, by whom, under which playbook version."""

    __tablename__ = "stage_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[list[Any]]
    playbook_id: Mapped[str] = mapped_column(String(100))
    playbook_version: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200))


class ConsentRow(Base):
    """One consent grant or revocation for a channel and an exact contact point."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(100))
    contact_point: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))
    captured_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(100))
    disclosure_version: Mapped[str | None] = mapped_column(String(100))
    evidence: Mapped[dict[str, Any]]
    revoked_at: Mapped[datetime | None]
    revoked_how: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(200))


class IdempotencyRow(Base):
    """A creating request's key, the hash of its body, and the response it got."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class WebhookDeliveryRow(Base):
    """An inbound webhook delivery already processed (deduplication by delivery id)."""

    __tablename__ = "webhook_deliveries"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]


class AuditRow(Base):
    """One audit record; ``hash`` chains it to the record before it."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str] = mapped_column(String(200), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(Json)
    after: Mapped[dict[str, Any] | None] = mapped_column(Json)
    reason: Mapped[str | None] = mapped_column(Text)
    playbook_version: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The last audit record's number and hash: one row, locked to append in order."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class ImportRunRow(Base):
    """A resumable import: the file's content hash and how many rows are committed."""

    __tablename__ = "import_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(Text)
    rows_done: Mapped[int] = mapped_column(Integer)
    finished: Mapped[bool]
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiKeyRow(Base):
    """An API key: only the hash of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


Index("ix_events_lead_occurred", EventRow.lead_id, EventRow.occurred_at)
Index("ix_consents_point", ConsentRow.lead_id, ConsentRow.channel, ConsentRow.contact_point)


class WebhookEndpointRow(Base):
    """An outbound webhook endpoint: where to POST, the signing secret, the events wanted."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[Any]]
    enabled: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookOutboxRow(Base):
    """One message for one endpoint, written with the change it reports (transactional
    outbox); the worker delivers it at least once, retrying until ``retry_until``."""

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    msg_id: Mapped[str] = mapped_column(String(60), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    retry_until: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    dead: Mapped[bool]
    dead_at: Mapped[datetime | None]


# -- routing, SLAs and nurture (migration 0003) ---------------------------------------------
class TeamMemberRow(Base):
    """A playbook team member's assignment state: the row an assignment locks
    (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two assignments never race."""

    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_assigned_at: Mapped[datetime | None]
    assigned_total: Mapped[int] = mapped_column(Integer, default=0)


class MemberAbsenceRow(Base):
    """A member out of office from ``starts_at`` until ``ends_at``: assigned nothing then."""

    __tablename__ = "member_absences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class LeadRouteRow(Base):
    """Where a lead is now: its queue, team and owner; ``open`` while a routed stage holds it."""

    __tablename__ = "lead_routes"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    playbook_id: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str | None] = mapped_column(String(100), index=True)
    team_id: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_at: Mapped[datetime | None]
    manual: Mapped[bool]
    open: Mapped[bool] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class AssignmentRow(Base):
    """Each change of a lead's owner, with why and who (append-only)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    at: Mapped[datetime]
    queue: Mapped[str | None] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(String(64))
    from_owner: Mapped[str | None] = mapped_column(String(64))
    to_owner: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))


class SlaClockRow(Base):
    """One first-outreach deadline, started when a lead enters a routed stage.

    ``next_check_at`` is the next instant the worker has something to do (remind, breach,
    reassign), ``None`` once the clock is stopped by outreach or closed by a stage change.
    """

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    band: Mapped[str | None] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(64))
    sla: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    reassign_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    reassigned_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    stop_event_id: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(40))
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_until: Mapped[datetime | None]
    # what the clock is for (``leadflow.domain.purposes``); none: stored before 0007,
    # read as first outreach
    purpose: Mapped[str | None] = mapped_column(String(30))


class TaskRow(Base):
    """A piece of work on a lead for whoever owns it: a recheck, a callback, an appointment to
    book. ``rule_key`` names the rule that made it (one open task per rule and lead); a rep's
    task has none. Open until done or dismissed, with a reason code — never free text."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    rule_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    close_reason: Mapped[str | None] = mapped_column(String(40))


class DecisionQueueRow(Base):
    """A lead whose events were appended but not yet decided (migration 0009): the ingest
    path adds a row, a decider takes it (``SKIP LOCKED`` on PostgreSQL) and deletes it in the
    unit of work that stores the decision. No foreign key: appending never waits on a lead."""

    __tablename__ = "decision_queue"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(String(100), index=True)
    event_id: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    # ``leadflow import``: clocks start from the lead's history no older than this
    import_max_age_s: Mapped[int | None]


class NurtureEnrollmentRow(Base):
    """A lead on a nurture track: the next step and when it is due, or why it ended."""

    __tablename__ = "nurture_enrollments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    playbook_id: Mapped[str] = mapped_column(String(100))
    track: Mapped[str] = mapped_column(String(100))
    entry: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime]
    next_step: Mapped[int] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[datetime | None]


class MessageRow(Base):
    """An outgoing message (transactional outbox): a nurture step to a lead, whose address and
    consent are read at send time, or a notice to a team member (reminder, escalation)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    msg_id: Mapped[str] = mapped_column(String(60), unique=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), index=True)
    member_id: Mapped[str | None] = mapped_column(String(64))
    enrollment_id: Mapped[int | None] = mapped_column(BigId)
    step: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    template: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(String(60))
    to_address: Mapped[str | None] = mapped_column(String(400))
    attempts: Mapped[int] = mapped_column(Integer)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # an inbound reply's body as scanned at ingest (migration 0005)
    redacted: Mapped[dict[str, Any] | None] = mapped_column(Json)


# -- per-database secrets (migration 0004) --------------------------------------------------
class AppSecretRow(Base):
    """A secret this database made for itself when no setting gave one (the unsubscribe
    links' HMAC key): created once, never changed, never shown."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


# The people tables live in a module of their own; importing it registers them on ``Base``.
from leadflow.adapters.db import tables_people  # noqa: E402, F401
