"""Nurture enrollments and the message outbox in SQL (``uow.nurture``, the ``NurtureStore``
port). The worker's use cases on them are :mod:`leadflow.services.nurture_steps` and
:mod:`leadflow.services.sending`.

Claims take rows other workers do not hold: on PostgreSQL ``FOR UPDATE SKIP LOCKED``;
SQLite has one writer at a time.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import MessageRow, NurtureEnrollmentRow
from leadflow.services.nurture_ports import (
    SMS_REPLY,
    STOP_CONFIRMATION,
    Enrollment,
    NewMessage,
    QueuedMessage,
)

_ENROLLMENTS = cast(Table, NurtureEnrollmentRow.__table__)
_MESSAGES = cast(Table, MessageRow.__table__)
_ENROLLMENT_FIELDS = [f.name for f in fields(Enrollment)]
_QUEUED_FIELDS = [f.name for f in fields(QueuedMessage)]


def _enrollment(row: Any) -> Enrollment:
    return Enrollment(**{name: getattr(row, name) for name in _ENROLLMENT_FIELDS})


def new_msg_id() -> str:
    return "msg_" + secrets.token_hex(12)


class SqlNurture:
    """The ``NurtureStore`` port on the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- enrollments ---------------------------------------------------------------------
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

    def due_enrollments(self, now: datetime, limit: int) -> list[Enrollment]:
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
        return [_enrollment(row) for row in self.session.execute(query)]

    def reschedule(self, enrollment_id: int, next_step: int, next_due_at: datetime) -> None:
        self.session.execute(
            update(_ENROLLMENTS)
            .where(_ENROLLMENTS.c.id == enrollment_id)
            .values(next_step=next_step, next_due_at=next_due_at)
        )

    def enrollment(self, enrollment_id: int) -> Enrollment | None:
        row = self.session.execute(
            select(_ENROLLMENTS).where(_ENROLLMENTS.c.id == enrollment_id)
        ).first()
        return None if row is None else _enrollment(row)

    # -- the outbox ----------------------------------------------------------------------
    def queue_message(self, message: NewMessage) -> None:
        self.session.execute(
            insert(_MESSAGES).values(
                msg_id=new_msg_id(), status="queued", attempts=0, **asdict(message)
            )
        )

    def claim_messages(self, now: datetime, limit: int, lease_until: datetime) -> list[int]:
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
        ids = [int(i) for i in self.session.scalars(query)]
        if ids:
            self.session.execute(
                update(_MESSAGES).where(_MESSAGES.c.id.in_(ids)).values(lease_until=lease_until)
            )
        return ids

    def locked_message(self, message_id: int) -> QueuedMessage | None:
        row = self.session.execute(
            select(*(_MESSAGES.c[name] for name in _QUEUED_FIELDS))
            .where(_MESSAGES.c.id == message_id)
            .with_for_update()
        ).first()
        return None if row is None else QueuedMessage(**row._asdict())

    def _settle(self, message_id: int, **values: Any) -> None:
        """Record what became of a queued message (its lease ends)."""
        still_queued: ColumnElement[bool] = (_MESSAGES.c.id == message_id) & (
            _MESSAGES.c.status == "queued"
        )
        self.session.execute(
            update(_MESSAGES).where(still_queued).values(lease_until=None, **values)
        )

    def message_deferred(self, message_id: int, due_at: datetime, reason: str) -> None:
        self._settle(message_id, due_at=due_at, reason=reason)

    def message_skipped(self, message_id: int, reason: str) -> None:
        self._settle(message_id, status="skipped", reason=reason)

    def message_failed(
        self, message_id: int, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        after = {"status": "failed"} if retry_at is None else {"due_at": retry_at}
        self._settle(message_id, attempts=attempts, reason=error, **after)

    def message_sent(self, message_id: int, to: str, at: datetime) -> None:
        self._settle(message_id, status="sent", to_address=to, sent_at=at, reason=None)

    def mailed_addresses(self, lead_id: str) -> set[str]:
        query = select(_MESSAGES.c.to_address).where(
            _MESSAGES.c.lead_id == lead_id,
            _MESSAGES.c.channel == "email",
            _MESSAGES.c.status == "sent",
            _MESSAGES.c.to_address.is_not(None),
        )
        return {str(a) for a in self.session.scalars(query.distinct())}

    def confirmation_sent(self, to: str, since: datetime, other_than: int) -> bool:
        recent = exists().where(
            _MESSAGES.c.kind == STOP_CONFIRMATION,
            _MESSAGES.c.to_address == to,
            _MESSAGES.c.status == "sent",
            _MESSAGES.c.sent_at > since,
            _MESSAGES.c.id != other_than,
        )
        return bool(self.session.scalar(select(recent)))

    # -- SMS replies awaiting review -----------------------------------------------------
    def add_sms_reply(
        self, lead_id: str, from_number: str, body: str, at: datetime, redacted: str | None = None
    ) -> None:
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

    def _awaiting_review(self, lead_id: str) -> ColumnElement[bool]:
        return (
            (_MESSAGES.c.lead_id == lead_id)
            & (_MESSAGES.c.kind == SMS_REPLY)
            & (_MESSAGES.c.status == "review")
        )

    def review_pending(self, lead_id: str) -> bool:
        return bool(self.session.scalar(select(exists().where(self._awaiting_review(lead_id)))))

    def clear_review(self, lead_id: str) -> int:
        result = self.session.execute(
            update(_MESSAGES).where(self._awaiting_review(lead_id)).values(status="reviewed")
        )
        return int(getattr(result, "rowcount", 0) or 0)
