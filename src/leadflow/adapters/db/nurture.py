"""Nurture enrollments and the message outbox in SQL, and the worker's two jobs on them.

:class:`NurtureTables` is a mixin of :class:`~leadflow.adapters.db.store.SqlUnitOfWork` (the
``NurtureStore`` port). :func:`step_due` turns due nurture steps into queued messages;
:func:`send_due` sends queued messages through the consent gate at send time.

Sending is at least once and never twice at the same time: a short transaction claims a
batch (on PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time) and leases
it (``lease_until``). Each message is then re-checked and sent in a transaction of its own
that locks the message and its lead, so a revocation either commits before the check (and
the message is refused) or waits until the send is recorded. A worker killed mid-batch loses
nothing: the lease ends and the message is claimed again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, exists, insert, or_, select, update

from leadflow.adapters.db.optout import STOP_CONFIRMATION, UnsubscribeLinks, confirmation_verdict
from leadflow.adapters.db.tables import MessageRow, NurtureEnrollmentRow
from leadflow.adapters.records.zones import state_for_zip, zones_for_lead
from leadflow.domain.contact_rules import FINAL_REASONS, QUIET_HOURS, Window, may_send, window_for
from leadflow.domain.nurture import TEMPLATE_FIELDS, claims_in, render
from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError
from leadflow.services.messaging import Sink, consent_facts
from leadflow.services.nurture import (
    COMPLETED,
    STAGE_CHANGED,
    Enrollment,
    next_allowed,
    paused_retry,
    step_due_at,
)
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import AuditEntry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from leadflow.adapters.db.database import Database
    from leadflow.adapters.db.unit_of_work import SqlUnitOfWork

_ENROLLMENTS = cast(Table, NurtureEnrollmentRow.__table__)
_MESSAGES = cast(Table, MessageRow.__table__)
_ENROLLMENT_FIELDS = [f.name for f in fields(Enrollment)]
NURTURE = "nurture"
SMS_REPLY = "sms_reply"  # an inbound free-text reply awaiting review (status ``review``)
EARLY_STAGE_CLAIM = "early_stage_claim"
LEFT_NURTURE = "left_nurture"
MAX_ATTEMPTS = 5
SEND_TIMEOUT_S = 30.0
LEASE_MARGIN_S = 60.0
RETRY_BASE = timedelta(minutes=1)
_EARLY = {Stage.NEW.value, Stage.NURTURE.value}
ACTOR = "worker:nurture"


def _enrollment(row: Any) -> Enrollment:
    return Enrollment(**{name: getattr(row, name) for name in _ENROLLMENT_FIELDS})


def new_msg_id() -> str:
    return "msg_" + secrets.token_hex(12)


class SqlNurture:
    """The ``NurtureStore`` port (and the SMS review flag) on the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def active_enrollment(self, lead_id: str) -> Enrollment | None:
        row = self.session.execute(
            select(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.lead_id == lead_id, _ENROLLMENTS.c.ended_at.is_(None))
            .order_by(_ENROLLMENTS.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _enrollment(row)

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        values = {n: getattr(enrollment, n) for n in _ENROLLMENT_FIELDS if n != "id"}
        new_id = self.session.scalar(
            insert(_ENROLLMENTS).values(**values).returning(_ENROLLMENTS.c.id)
        )
        return Enrollment(**{**values, "id": int(new_id or 0)})

    def end_enrollment(self, enrollment_id: int, at: datetime, reason: str) -> None:
        self.session.execute(
            update(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.id == enrollment_id, _ENROLLMENTS.c.ended_at.is_(None))
            .values(ended_at=at, end_reason=reason, next_due_at=None, lease_until=None)
        )

    def enrollments_of(self, lead_id: str) -> list[Enrollment]:
        rows = self.session.execute(
            select(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.lead_id == lead_id)
            .order_by(_ENROLLMENTS.c.id)
        )
        return [_enrollment(row) for row in rows]

    # -- SMS replies awaiting review ---------------------------------------------------------
    def add_sms_reply(
        self, lead_id: str, from_number: str, body: str, at: datetime, redacted: str | None = None
    ) -> None:
        """Keep a free-text reply for review (with its copy redacted at ingest); sending to
        the lead pauses until it is reviewed."""
        self.session.execute(
            insert(_MESSAGES).values(
                msg_id=new_msg_id(),
                lead_id=lead_id,
                kind=SMS_REPLY,
                channel="sms",
                body=body,
                to_address=from_number,
                created_at=at,
                due_at=at,
                status="review",
                attempts=0,
                redacted=None if redacted is None else {"body": redacted},
            )
        )

    def review_pending(self, lead_id: str) -> bool:
        """Whether a reply of the lead awaits review (its messages are paused)."""
        query = select(
            exists().where(
                _MESSAGES.c.lead_id == lead_id,
                _MESSAGES.c.kind == SMS_REPLY,
                _MESSAGES.c.status == "review",
            )
        )
        return bool(self.session.scalar(query))


# -- nurture steps -------------------------------------------------------------------------


def step_due(
    db: Database, playbooks: Callable[[str], Playbook], now: datetime, limit: int = 50
) -> int:
    """Queue the message of every nurture step due at ``now`` (up to ``limit`` enrollments,
    each caught up to ``now``); returns how many messages were queued."""
    return db.run(lambda store: _step_batch(store, playbooks, now, limit))


def _step_batch(
    store: SqlUnitOfWork, playbooks: Callable[[str], Playbook], now: datetime, limit: int
) -> int:
    query = (
        select(_ENROLLMENTS)
        .where(
            _ENROLLMENTS.c.ended_at.is_(None),
            _ENROLLMENTS.c.next_due_at.is_not(None),
            _ENROLLMENTS.c.next_due_at <= now,
        )
        .order_by(_ENROLLMENTS.c.next_due_at, _ENROLLMENTS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    queued = 0
    for row in store.session.execute(query).all():
        queued += _advance(store, _enrollment(row), playbooks, now)
    return queued


def _end(store: SqlUnitOfWork, enrollment: Enrollment, now: datetime, reason: str) -> int:
    store.nurture.end_enrollment(enrollment.id, now, reason)
    if reason != COMPLETED:
        store.audit.append(
            AuditEntry(
                now,
                ACTOR,
                "nurture.left",
                "lead",
                enrollment.lead_id,
                before={"track": enrollment.track, "step": enrollment.next_step},
                after={"reason": reason},
                reason=reason,
            )
        )
    return 0


def _advance(
    store: SqlUnitOfWork,
    enrollment: Enrollment,
    playbooks: Callable[[str], Playbook],
    now: datetime,
) -> int:
    """Queue each of the enrollment's steps due at ``now``, then schedule the next or end."""
    lead = store.leads.get_lead(enrollment.lead_id)
    if lead is None:
        return _end(store, enrollment, now, "lead_missing")
    decided = store.leads.current_decision(lead.lead_id)
    if decided is None or decided.stage != Stage.NURTURE.value:
        return _end(store, enrollment, now, STAGE_CHANGED)
    try:
        playbook = playbooks(enrollment.playbook_id)
    except LeadflowError:
        return _end(store, enrollment, now, "playbook_missing")
    track = next((t for t in playbook.tracks if t.id == enrollment.track), None)
    if track is None:
        return _end(store, enrollment, now, "track_missing")
    profile = current_profile(lead, store.leads.events_of(lead.lead_id))
    values = {name: getattr(profile, name) for name in TEMPLATE_FIELDS}
    step_no, due = enrollment.next_step, enrollment.next_due_at
    queued = 0
    while due is not None and due <= now and step_no < len(track.steps):
        step = track.steps[step_no]
        template = playbook.template(step.template)
        if template is None:
            return queued + _end(store, enrollment, now, "template_missing")
        store.session.execute(
            insert(_MESSAGES).values(
                msg_id=new_msg_id(),
                lead_id=lead.lead_id,
                enrollment_id=enrollment.id,
                step=step_no,
                kind=NURTURE,
                channel=step.channel,
                template=template.id,
                subject=render(template.subject, values) if template.subject else None,
                body=render(template.body, values),
                created_at=now,
                due_at=now,
                status="queued",
                attempts=0,
            )
        )
        queued += 1
        step_no += 1
        due = step_due_at(track.steps[step_no].delay, due) if step_no < len(track.steps) else None
    if due is None:
        _end(store, enrollment, now, COMPLETED)
    else:
        store.session.execute(
            update(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.id == enrollment.id)
            .values(next_step=step_no, next_due_at=due)
        )
    return queued


# -- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendReport:
    """What one :func:`send_due` call did with the messages it claimed."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(SendReport))
        )


def lease_for(limit: int) -> timedelta:
    """How long claimed messages are held: every send of the batch timing out, plus margin."""
    return timedelta(seconds=LEASE_MARGIN_S + SEND_TIMEOUT_S * limit)


def send_due(
    db: Database,
    now: datetime,
    sink: Sink,
    limit: int = 20,
    *,
    state_windows: Mapping[str, Window] | None = None,
    links: UnsubscribeLinks | None = None,
) -> SendReport:
    """Send up to ``limit`` queued messages due at ``now``, each through the gate on its own.

    Every ``nurture`` email gets an unsubscribe footer and one-click headers made by
    ``links`` (default: this database's own key and ``http://127.0.0.1:8000``; the worker
    passes the ones its settings ask for)."""
    links = links or UnsubscribeLinks()
    lease_until = now + lease_for(limit)
    ids = db.run(lambda store: _claim(store, now, limit, lease_until))
    counts = dict.fromkeys(("sent", "skipped", "deferred", "retrying", "failed"), 0)
    for row_id in ids:

        def work(store: SqlUnitOfWork, row_id: int = row_id) -> str:
            return _send_one(
                store, row_id, lease_until, now, sink, state_windows=state_windows, links=links
            )

        outcome = db.run(work, attempts=1)  # never retried here: the sink may have been called
        if outcome in counts:
            counts[outcome] += 1
    return SendReport(len(ids), **counts)


def _claim(store: SqlUnitOfWork, now: datetime, limit: int, lease_until: datetime) -> list[int]:
    query = (
        select(_MESSAGES.c.id)
        .where(
            _MESSAGES.c.status == "queued",
            _MESSAGES.c.due_at <= now,
            or_(_MESSAGES.c.lease_until.is_(None), _MESSAGES.c.lease_until <= now),
        )
        .order_by(_MESSAGES.c.due_at, _MESSAGES.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(store.session.scalars(query))
    if ids:
        store.session.execute(
            update(_MESSAGES).where(_MESSAGES.c.id.in_(ids)).values(lease_until=lease_until)
        )
    return ids


@dataclass(frozen=True)
class _Target:
    """Where a message goes and the gate's verdict (``reason`` ``allowed`` to send)."""

    to: str | None
    reason: str
    retry_at: datetime | None = None


def _send_one(
    store: SqlUnitOfWork,
    row_id: int,
    lease_until: datetime,
    now: datetime,
    sink: Sink,
    *,
    state_windows: Mapping[str, Window] | None,
    links: UnsubscribeLinks,
) -> str:
    """Check and send one claimed message; returns the outcome (``lost``: not ours any more)."""
    row = store.session.execute(
        select(_MESSAGES).where(_MESSAGES.c.id == row_id).with_for_update()
    ).first()
    if row is None or row.status != "queued" or row.lease_until != lease_until:
        return "lost"  # sent or re-claimed by another worker after our lease ended
    if row.member_id is not None or row.lead_id is None:
        # A notice to a team member: to the address stored with it, no lead consent involved.
        target = _Target(row.to_address, "allowed" if row.to_address else "no_contact_point")
    elif row.kind == STOP_CONFIRMATION:
        # The one message sent without consent (now revoked), outside calling hours too.
        target = _Target(*confirmation_verdict(store, row, now))
    else:
        target = _lead_target(store, row, now, state_windows)
    done = (_MESSAGES.c.id == row_id) & (_MESSAGES.c.status == "queued")
    if target.reason != "allowed":
        if target.retry_at is not None:
            store.session.execute(
                update(_MESSAGES)
                .where(done)
                .values(due_at=target.retry_at, lease_until=None, reason=target.reason)
            )
            return "deferred"
        store.session.execute(
            update(_MESSAGES)
            .where(done)
            .values(status="skipped", reason=target.reason, lease_until=None)
        )
        return "skipped"
    assert target.to is not None  # noqa: S101 (allowed implies an address)
    try:
        if row.kind == NURTURE and row.channel == "email":  # marketing: a way out in every one
            footer, headers = links.for_email(store.session, row.lead_id, target.to, now)
            sink.send(row.channel, target.to, row.body + footer, row.subject, headers=headers)
        else:
            sink.send(row.channel, target.to, row.body, row.subject)
    except Exception as exc:  # any failure of the sink: not sent, tried again later
        attempts = row.attempts + 1
        error = f"send failed ({type(exc).__name__})"[:60]
        if attempts >= MAX_ATTEMPTS:
            values: dict[str, Any] = {"status": "failed"}
        else:
            values = {"due_at": now + RETRY_BASE * 2 ** (attempts - 1)}
        store.session.execute(
            update(_MESSAGES)
            .where(done)
            .values(attempts=attempts, reason=error, lease_until=None, **values)
        )
        return "failed" if attempts >= MAX_ATTEMPTS else "retrying"
    store.session.execute(
        update(_MESSAGES)
        .where(done)
        .values(status="sent", to_address=target.to, sent_at=now, lease_until=None, reason=None)
    )
    return "sent"


def _lead_target(
    store: SqlUnitOfWork, row: Any, now: datetime, state_windows: Mapping[str, Window] | None
) -> _Target:
    """The lead's current address for the channel and the gate's answer, read now."""
    lead = store.leads.get_lead(row.lead_id)
    if lead is None:
        return _Target(None, "no_contact_point")
    store.leads.lock_lead(
        lead.lead_id
    )  # a concurrent revocation waits for this send, or precedes it
    profile = current_profile(lead, store.leads.events_of(lead.lead_id))
    to = profile.email if row.channel == "email" else profile.phone
    zones = zones_for_lead(profile) or None
    state = profile.state or state_for_zip(profile.postal_code)
    window = window_for(state, state_windows)
    verdict = may_send(
        row.channel,
        to,
        consent_facts(store.leads.consents_of(lead.lead_id)),
        now,
        zones=zones,
        paused=store.nurture.review_pending(lead.lead_id),
        window=window,
    )
    if not verdict.allowed and verdict.reason in FINAL_REASONS:
        return _Target(to, verdict.reason)
    decided = store.leads.current_decision(lead.lead_id)
    text = " ".join(filter(None, (row.subject, row.body)))
    if (decided is None or decided.stage in _EARLY) and claims_in(text):
        return _Target(to, EARLY_STAGE_CLAIM)
    if row.enrollment_id is not None and _left_nurture(store, row.enrollment_id):
        return _Target(to, LEFT_NURTURE)
    if not verdict.allowed:
        if verdict.reason == QUIET_HOURS:
            return _Target(to, verdict.reason, next_allowed(row.channel, now, zones, window))
        return _Target(to, verdict.reason, paused_retry(now))
    return _Target(to, "allowed")


def _left_nurture(store: SqlUnitOfWork, enrollment_id: int) -> bool:
    """Whether the enrollment ended for a reason other than completing its steps."""
    reason = store.session.execute(
        select(_ENROLLMENTS.c.ended_at, _ENROLLMENTS.c.end_reason).where(
            _ENROLLMENTS.c.id == enrollment_id
        )
    ).first()
    return reason is not None and reason.ended_at is not None and reason.end_reason != COMPLETED
