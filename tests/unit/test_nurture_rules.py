"""Nurture's pure rules: step due times, leaving a track, and the next time a text may go."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from leadflow.domain.calendar import parse_sla
from leadflow.domain.contact_rules import quiet_hours_ok
from leadflow.domain.events import Event, EventType
from leadflow.domain.stages import Stage
from leadflow.services.nurture import Enrollment, leave_reason, next_allowed, step_due_at

AT = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # a Friday
ENROLLED = Enrollment(1, "L-1", "p", "t", "below_mql", AT, 0, AT)


def test_step_delays_count_on_the_wall_clock_even_when_business() -> None:
    assert step_due_at(parse_sla("3 days"), AT) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert step_due_at(parse_sla("1 business day"), AT) == datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert step_due_at(parse_sla("1 hour"), AT) == datetime(2026, 3, 6, 13, 0, tzinfo=UTC)


def test_a_lead_leaves_on_a_stage_change_or_a_later_unsubscribe_or_revocation() -> None:
    def event(kind: EventType, at: datetime) -> Event:
        return Event("e", "L-1", kind, at, {"channel": "sms"})

    before = datetime(2026, 3, 1, tzinfo=UTC)
    assert leave_reason(ENROLLED, Stage.MQL, []) == "stage_changed"
    assert leave_reason(ENROLLED, Stage.NURTURE, []) is None
    assert leave_reason(ENROLLED, Stage.NURTURE, [event(EventType.UNSUBSCRIBED, before)]) is None
    assert leave_reason(ENROLLED, Stage.NURTURE, [event(EventType.UNSUBSCRIBED, AT)]) == (
        "unsubscribed"
    )
    revoked = [event(EventType.CONSENT_REVOKED, AT)]
    assert leave_reason(ENROLLED, Stage.NURTURE, revoked) == "consent_revoked"


def test_the_next_allowed_time_is_the_first_08_00_inside_every_zone() -> None:
    night = datetime(2026, 3, 23, 2, 0, tzinfo=UTC)  # 22:00 in New York, 19:00 in LA
    boston = frozenset({"America/New_York"})
    assert next_allowed("sms", night, boston) == datetime(2026, 3, 23, 12, 0, tzinfo=UTC)
    coasts = frozenset({"America/New_York", "America/Los_Angeles"})
    assert next_allowed("sms", night, coasts) == datetime(2026, 3, 23, 15, 0, tzinfo=UTC)
    anywhere = next_allowed("phone", night, None)  # every US zone: 08:00 in Honolulu
    assert anywhere.astimezone(ZoneInfo("Pacific/Honolulu")).hour == 8
    assert quiet_hours_ok("phone", anywhere, None)
    narrow = next_allowed("sms", night, boston, (datetime.min.time().replace(hour=9),) * 2)
    assert narrow == datetime(2026, 3, 23, 2, 15, tzinfo=UTC)  # an empty window: retry later
