"""Nurture's pure rules: step due times, leaving a track (by channel), and the next time a
text may go."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain.calendar import parse_sla
from leadflow.domain.contact_rules import quiet_hours_ok
from leadflow.domain.events import Event, EventType, PropertyValue
from leadflow.domain.nurture import channel_left, opted_out_channels
from leadflow.domain.playbook import NurtureStep, NurtureTrack
from leadflow.domain.stages import Stage
from leadflow.services.nurture import Enrollment, leave_reason, next_allowed, step_due_at

AT = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # a Friday
ENROLLED = Enrollment(1, "L-1", "p", "t", "below_mql", AT, 0, AT)


def test_step_delays_count_on_the_wall_clock_even_when_business() -> None:
    assert step_due_at(parse_sla("3 days"), AT) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert step_due_at(parse_sla("1 business day"), AT) == datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert step_due_at(parse_sla("1 hour"), AT) == datetime(2026, 3, 6, 13, 0, tzinfo=UTC)


def _track(*channels: str) -> NurtureTrack:
    steps = tuple(NurtureStep(parse_sla("1 day"), channel, "t") for channel in channels)
    return NurtureTrack("t", "T", steps)


def _event(kind: EventType, at: datetime = AT, **props: PropertyValue) -> Event:
    return Event(f"e-{kind.value}", "L-1", kind, at, props)


def test_a_lead_leaves_on_a_stage_change_or_an_opt_out_of_every_channel_left() -> None:
    before = datetime(2026, 3, 1, tzinfo=UTC)
    mixed, texts = _track("email", "sms"), _track("sms")
    stop = _event(EventType.UNSUBSCRIBED, channel="sms")
    assert leave_reason(ENROLLED, Stage.MQL, [], mixed) == "stage_changed"
    assert leave_reason(ENROLLED, Stage.NURTURE, [], mixed) is None
    old_stop = _event(EventType.UNSUBSCRIBED, before, channel="sms")
    assert leave_reason(ENROLLED, Stage.NURTURE, [old_stop], texts) is None  # before it entered
    assert leave_reason(ENROLLED, Stage.NURTURE, [stop], mixed) is None  # the email goes on
    assert leave_reason(ENROLLED, Stage.NURTURE, [stop], texts) == "opted_out"
    past_the_email = replace(ENROLLED, next_step=1)
    assert leave_reason(past_the_email, Stage.NURTURE, [stop], mixed) == "opted_out"
    revoked = _event(EventType.CONSENT_REVOKED, channel="email")
    assert leave_reason(ENROLLED, Stage.NURTURE, [revoked], mixed) is None
    assert leave_reason(ENROLLED, Stage.NURTURE, [revoked, stop], mixed) == "opted_out"
    assert leave_reason(ENROLLED, Stage.NURTURE, [stop], None) is None  # the worker's to end


def test_an_opt_out_names_its_channel_and_one_without_a_channel_names_them_all() -> None:
    before = datetime(2026, 3, 1, tzinfo=UTC)
    events = [
        _event(EventType.UNSUBSCRIBED, channel="sms"),
        _event(EventType.CONSENT_REVOKED, before, channel="email"),  # before: not counted
        _event(EventType.CONSENT_GRANTED, channel="phone"),
        _event(EventType.PAGE_VIEWED, page_category="blog"),
    ]
    assert opted_out_channels(events, AT) == {"sms"}
    assert opted_out_channels([_event(EventType.UNSUBSCRIBED)], AT) == {"email", "sms", "phone"}
    flags = _event(EventType.PROFILE_UPDATED, consent_email=False, consent_sms=True)
    assert opted_out_channels([flags], AT) == {"email"}
    later = AT + timedelta(days=1)
    regrant = [
        _event(EventType.UNSUBSCRIBED, channel="sms"),
        _event(EventType.CONSENT_GRANTED, later, channel="sms"),
    ]
    assert opted_out_channels(regrant, AT) == {"sms"}  # stays out for this enrollment
    assert channel_left(_track("email", "sms"), 0, frozenset({"sms"}))
    assert not channel_left(_track("email", "sms"), 1, frozenset({"sms"}))
    assert not channel_left(_track("email"), 1, frozenset())  # no step left at all


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
