"""One definition of met, missed, pending and overdue (``services/routing/due.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadflow.services.reports.facts import ClockFact
from leadflow.services.routing.due import handoff_state, overdue

START = datetime(2026, 3, 4, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _clock(start: datetime, **ends: datetime | None) -> ClockFact:
    return ClockFact(
        "mql",
        start,
        start + HOUR,
        ends.get("stopped_at"),
        ends.get("breached_at"),
        ends.get("closed_at"),
        "reassigned" if ends.get("closed_at") else None,
    )


def test_a_clock_stopped_in_time_is_met_and_a_running_one_in_time_pending() -> None:
    assert handoff_state([_clock(START, stopped_at=START + HOUR / 2)], START, START + HOUR) == "met"
    assert handoff_state([_clock(START)], START, START + HOUR / 2) == "pending"
    assert not overdue([_clock(START)], START, START + HOUR / 2)


def test_a_breach_reassignment_leaves_the_hand_off_missed_and_overdue_until_reached() -> None:
    first = _clock(START, breached_at=START + HOUR, closed_at=START + 2 * HOUR)
    fresh = _clock(START + 2 * HOUR)  # the new owner's clock, not due yet
    now = START + 2 * HOUR + HOUR / 4
    assert handoff_state([first, fresh], START, now) == "missed"
    assert overdue([first, fresh], START, now)
    reached = _clock(START + 2 * HOUR, stopped_at=START + 2 * HOUR + HOUR / 4)
    assert handoff_state([first, reached], START, now) == "missed"  # the report keeps it missed
    assert not overdue([first, reached], START, now)  # but it is no longer overdue


def test_a_late_outreach_is_missed_and_a_lead_without_clock_has_no_state() -> None:
    late = _clock(START, stopped_at=START + 2 * HOUR)
    assert handoff_state([late], START, START + 3 * HOUR) == "missed"
    assert handoff_state([], START, START) is None
    assert not overdue([], START, START)
