"""One definition of met, missed and pending for first outreach, read by the outreach report,
My queue and the lead page alike.

A hand-off (a lead entering MQL, else SQL) is judged by the first first-outreach clock
started at or after it (clocks for other purposes — discovery, an appointment, a recheck —
are not about reaching the lead): **met** when outreach stopped that clock by its due time;
**missed** when the outreach came later, the clock breached, or it was still running past
its due time (a breach reassignment starts a new clock for the new owner, but the hand-off
stays missed); **pending** while that clock runs within its time. A missed lead is
**overdue** in every view until someone reaches it, whoever owns it now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

FIRST_OUTREACH = "first_outreach"


class ClockTimes(Protocol):
    """What the definition reads of an SLA clock."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def stopped_at(self) -> datetime | None: ...
    @property
    def breached_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def purpose(self) -> str: ...


def handoff_state(clocks: Sequence[ClockTimes], start: datetime, as_of: datetime) -> str | None:
    """``met``, ``missed`` or ``pending`` for the hand-off at ``start``; ``None`` without a
    clock, or when the lead left the stage before its clock was due."""
    clock = next((c for c in _outreach_clocks(clocks) if c.started_at >= start), None)
    if clock is None:
        return None
    if clock.stopped_at is not None:
        return "met" if clock.stopped_at <= clock.due_at else "missed"
    ended = clock.closed_at if clock.closed_at is not None else as_of
    if clock.breached_at is not None or ended > clock.due_at:
        return "missed"
    return "pending" if clock.closed_at is None else None


def overdue(clocks: Sequence[ClockTimes], start: datetime, as_of: datetime) -> bool:
    """The hand-off at ``start`` was missed and nobody has reached the lead since."""
    reached = any(
        c.stopped_at is not None for c in _outreach_clocks(clocks) if c.started_at >= start
    )
    return not reached and handoff_state(clocks, start, as_of) == "missed"


def _outreach_clocks(clocks: Sequence[ClockTimes]) -> list[ClockTimes]:
    """The first-outreach clocks, oldest first."""
    return sorted((c for c in clocks if c.purpose == FIRST_OUTREACH), key=_started)


def _started(clock: ClockTimes) -> datetime:
    return clock.started_at
