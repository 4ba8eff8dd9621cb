"""What nurture needs from the store: a lead's enrollment on a track (``UnitOfWork`` has it).

Kept apart from :mod:`leadflow.services.nurture` so that the store's port can include it
without importing the use cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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


class NurtureStore(Protocol):
    """The nurture part of a unit of work."""

    def active_enrollment(self, lead_id: str) -> Enrollment | None:
        """The lead's enrollment that has not ended, if any."""
        ...

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        """Store a new enrollment; returns it with its id."""
        ...

    def end_enrollment(self, enrollment_id: int, at: datetime, reason: str) -> None:
        """End the enrollment (nothing more is due on it)."""
        ...
