"""In-memory nurture enrollments and message outbox (the ``NurtureStore`` port)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from leadflow.services.nurture_ports import (
    SMS_REPLY,
    STOP_CONFIRMATION,
    Enrollment,
    NewMessage,
    QueuedMessage,
)


@dataclass
class StoredMessage:
    """A row of the fake outbox."""

    id: int
    message: NewMessage
    status: str = "queued"
    due_at: datetime | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    reason: str | None = None
    to_address: str | None = None
    sent_at: datetime | None = None


@dataclass
class FakeNurture:
    """The ``NurtureStore`` port in memory."""

    enrollments: list[Enrollment] = field(default_factory=list)
    messages: list[StoredMessage] = field(default_factory=list)

    def active_enrollment(self, lead_id: str) -> Enrollment | None:
        active = [e for e in self.enrollments if e.lead_id == lead_id and e.active]
        return active[-1] if active else None

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        saved = replace(enrollment, id=len(self.enrollments) + 1)
        self.enrollments.append(saved)
        return saved

    def _update(self, enrollment_id: int, **changes: Any) -> None:
        self.enrollments = [
            replace(e, **changes) if e.id == enrollment_id else e for e in self.enrollments
        ]

    def end_enrollment(self, enrollment_id: int, at: datetime, reason: str) -> None:
        if any(e.id == enrollment_id and e.active for e in self.enrollments):
            self._update(enrollment_id, ended_at=at, end_reason=reason, next_due_at=None)

    def enrollments_of(self, lead_id: str) -> list[Enrollment]:
        return [e for e in self.enrollments if e.lead_id == lead_id]

    def due_enrollments(self, now: datetime, limit: int) -> list[Enrollment]:
        due = [e for e in self.enrollments if e.active and e.next_due_at and e.next_due_at <= now]
        return sorted(due, key=lambda e: (e.next_due_at, e.id))[:limit]

    def reschedule(self, enrollment_id: int, next_step: int, next_due_at: datetime) -> None:
        self._update(enrollment_id, next_step=next_step, next_due_at=next_due_at)

    def enrollment(self, enrollment_id: int) -> Enrollment | None:
        return next((e for e in self.enrollments if e.id == enrollment_id), None)

    # -- the outbox ----------------------------------------------------------------------
    def queue_message(self, message: NewMessage) -> None:
        row = StoredMessage(len(self.messages) + 1, message, due_at=message.due_at)
        row.to_address = message.to_address
        self.messages.append(row)

    def claim_messages(self, now: datetime, limit: int, lease_until: datetime) -> list[int]:
        free = [
            m
            for m in self.messages
            if m.status == "queued"
            and m.due_at is not None
            and m.due_at <= now
            and (m.lease_until is None or m.lease_until <= now)
        ]
        claimed = sorted(free, key=lambda m: (m.due_at, m.id))[:limit]
        for m in claimed:
            m.lease_until = lease_until
        return [m.id for m in claimed]

    def row(self, message_id: int) -> StoredMessage:
        return next(m for m in self.messages if m.id == message_id)

    def locked_message(self, message_id: int) -> QueuedMessage | None:
        m = self.row(message_id)
        return QueuedMessage(
            id=m.id,
            lead_id=m.message.lead_id,
            member_id=None,
            kind=m.message.kind,
            channel=m.message.channel,
            subject=m.message.subject,
            body=m.message.body,
            to_address=m.to_address,
            created_at=m.message.created_at,
            status=m.status,
            lease_until=m.lease_until,
            attempts=m.attempts,
            enrollment_id=m.message.enrollment_id,
        )

    def _settle(self, message_id: int, **changes: Any) -> None:
        m = self.row(message_id)
        if m.status == "queued":
            for name, value in {"lease_until": None, **changes}.items():
                setattr(m, name, value)

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
        return {
            m.to_address
            for m in self.messages
            if m.message.lead_id == lead_id
            and m.message.channel == "email"
            and m.status == "sent"
            and m.to_address
        }

    def confirmation_sent(self, to: str, since: datetime, other_than: int) -> bool:
        return any(
            m.message.kind == STOP_CONFIRMATION
            and m.to_address == to
            and m.status == "sent"
            and m.sent_at is not None
            and m.sent_at > since
            and m.id != other_than
            for m in self.messages
        )

    def add_sms_reply(
        self, lead_id: str, from_number: str, body: str, at: datetime, redacted: str | None = None
    ) -> None:
        reply = NewMessage(lead_id, SMS_REPLY, "sms", body, at, at, to_address=from_number)
        self.messages.append(StoredMessage(len(self.messages) + 1, reply, status="review"))

    def review_pending(self, lead_id: str) -> bool:
        return any(
            m.message.lead_id == lead_id and m.message.kind == SMS_REPLY and m.status == "review"
            for m in self.messages
        )

    def clear_review(self, lead_id: str) -> int:
        pending = [
            m
            for m in self.messages
            if m.message.lead_id == lead_id and m.message.kind == SMS_REPLY and m.status == "review"
        ]
        for m in pending:
            m.status = "reviewed"
        return len(pending)
