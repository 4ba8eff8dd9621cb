"""What nurture and sending need from the store (``uow.nurture``): enrollments on tracks and
the message outbox.

Kept apart from the use cases (:mod:`leadflow.services.nurture`,
:mod:`leadflow.services.nurture_steps`, :mod:`leadflow.services.sending`) so that the unit of
work's port can include it without importing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

NURTURE = "nurture"  # a nurture step's message
SMS_REPLY = "sms_reply"  # an inbound free-text reply awaiting review (status ``review``)
STOP_CONFIRMATION = "stop_confirmation"  # the one text after a stop keyword
FORM_CONFIRMATION = "form_confirmation"  # the email a form capture gets at once, with consent


@dataclass(frozen=True)
class Enrollment:
    """A lead on a nurture track: its next step and when it is due, or why it ended.

    ``id`` is 0 before the enrollment is stored.
    """

    id: int
    lead_id: str
    playbook_id: str
    track: str
    entry: str  # "below_mql" | "recycled"
    entered_at: datetime
    next_step: int
    next_due_at: datetime | None
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class NewMessage:
    """A message to queue (status ``queued``, due at ``due_at``).

    ``to_address`` is set only where the address is fixed when queued (a notice to a team
    member, a STOP confirmation to the number that replied); a lead's marketing message is
    addressed at send time.
    """

    lead_id: str | None
    kind: str
    channel: str
    body: str
    created_at: datetime
    due_at: datetime
    subject: str | None = None
    template: str | None = None
    enrollment_id: int | None = None
    step: int | None = None
    to_address: str | None = None


@dataclass(frozen=True)
class QueuedMessage:
    """A message claimed for sending, as stored."""

    id: int
    lead_id: str | None
    member_id: str | None
    kind: str
    channel: str
    subject: str | None
    body: str
    to_address: str | None
    created_at: datetime
    status: str
    lease_until: datetime | None
    attempts: int
    enrollment_id: int | None


class NurtureStore(Protocol):
    """Enrollments and the message outbox in one unit of work."""

    # -- enrollments ---------------------------------------------------------------------
    def active_enrollment(self, lead_id: str) -> Enrollment | None:
        """The lead's enrollment that has not ended, if any."""
        ...

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        """Store a new enrollment; returns it with its id."""
        ...

    def end_enrollment(self, enrollment_id: int, at: datetime, reason: str) -> None:
        """End the enrollment (nothing more is due on it)."""
        ...

    def enrollments_of(self, lead_id: str) -> list[Enrollment]:
        """The lead's enrollments, oldest first."""
        ...

    def due_enrollments(self, now: datetime, limit: int) -> list[Enrollment]:
        """Up to ``limit`` active enrollments whose next step is due at ``now``, earliest
        first, held until commit (other workers skip them)."""
        ...

    def reschedule(self, enrollment_id: int, next_step: int, next_due_at: datetime) -> None:
        """Move the enrollment on to ``next_step``, due at ``next_due_at``."""
        ...

    def enrollment(self, enrollment_id: int) -> Enrollment | None:
        """The enrollment, active or ended."""
        ...

    # -- the outbox ----------------------------------------------------------------------
    def queue_message(self, message: NewMessage) -> None:
        """Add ``message`` to the outbox (sent by the worker after commit)."""
        ...

    def claim_messages(self, now: datetime, limit: int, lease_until: datetime) -> list[int]:
        """Lease up to ``limit`` queued messages due at ``now`` (not leased by another
        worker) until ``lease_until``; returns their ids, earliest due first."""
        ...

    def locked_message(self, message_id: int) -> QueuedMessage | None:
        """The message, held until commit."""
        ...

    def message_deferred(self, message_id: int, due_at: datetime, reason: str) -> None:
        """Not now (``reason``): queued again for ``due_at``."""
        ...

    def message_skipped(self, message_id: int, reason: str) -> None:
        """Never sent (``reason``)."""
        ...

    def message_failed(
        self, message_id: int, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        """The sink failed: tried again at ``retry_at``, or failed for good (``None``)."""
        ...

    def message_sent(self, message_id: int, to: str, at: datetime) -> None:
        """Sent to ``to`` at ``at``."""
        ...

    def mailed_addresses(self, lead_id: str) -> set[str]:
        """The addresses the lead's sent emails went to."""
        ...

    def confirmation_sent(self, to: str, since: datetime, other_than: int) -> bool:
        """Whether a STOP confirmation other than ``other_than`` went to ``to`` after
        ``since``."""
        ...

    # -- SMS replies awaiting review -----------------------------------------------------
    def add_sms_reply(
        self, lead_id: str, from_number: str, body: str, at: datetime, redacted: str | None = None
    ) -> None:
        """Keep a free-text reply for review (with its copy redacted at ingest)."""
        ...

    def review_pending(self, lead_id: str) -> bool:
        """Whether a reply of the lead awaits review (its messages are paused)."""
        ...

    def clear_review(self, lead_id: str) -> int:
        """Mark the lead's replies awaiting review as reviewed; returns how many there were."""
        ...
