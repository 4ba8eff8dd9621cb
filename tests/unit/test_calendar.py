"""Business hours and SLA deadlines: fixed instants, DST weekends, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.domain.calendar import BusinessHours, Sla, SlaUnit, parse_sla

NY = ZoneInfo("America/New_York")
MEMORIAL_DAY, JULY_4 = date(2025, 5, 26), date(2025, 7, 4)
TEAM = BusinessHours.weekdays(
    "America/New_York", time(8), time(17), frozenset({MEMORIAL_DAY, JULY_4})
)
MORNING, AFTERNOON = (time(8), time(12)), (time(13), time(17))
LUNCH_TEAM = BusinessHours("America/New_York", ((MORNING, AFTERNOON),) * 5 + ((),) * 2)
# Open every night across the 02:00 DST changes, and every morning.
NIGHT_TEAM = BusinessHours("America/New_York", (((time(1), time(4)), (time(9), time(12))),) * 7)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def due(sla: str, start: datetime, hours: BusinessHours = TEAM) -> datetime:
    return parse_sla(sla).due(start, hours)


# --- business-hour SLAs ------------------------------------------------------------------


def test_an_sql_lead_at_friday_1630_with_one_business_hour_is_due_monday_0830() -> None:
    assert due("1 business hour", ny(2025, 6, 6, 16, 30)) == ny(2025, 6, 9, 8, 30)


def test_a_monday_holiday_after_the_weekend_moves_the_deadline_to_tuesday() -> None:
    assert due("1 business hour", ny(2025, 5, 23, 16, 30)) == ny(2025, 5, 27, 8, 30)


def test_a_weekday_holiday_is_skipped() -> None:
    assert due("1 business hour", ny(2025, 7, 3, 16, 30)) == ny(2025, 7, 7, 8, 30)
    assert TEAM.business_time_between(ny(2025, 6, 30), ny(2025, 7, 7)) == timedelta(hours=36)
    assert TEAM.next_open(ny(2025, 7, 4, 9)) == ny(2025, 7, 7, 8)


def test_a_lead_arriving_while_closed_starts_the_clock_at_the_next_opening() -> None:
    assert due("1 business hour", ny(2025, 6, 7, 10)) == ny(2025, 6, 9, 9)
    assert due("30 business minutes", ny(2025, 6, 9, 6, 45)) == ny(2025, 6, 9, 8, 30)


def test_business_time_that_runs_out_at_closing_is_due_at_closing_not_next_morning() -> None:
    assert due("1 business hour", ny(2025, 6, 6, 16)) == ny(2025, 6, 6, 17)
    assert not TEAM.is_open(ny(2025, 6, 6, 17))


def test_results_are_in_utc_whatever_zone_the_start_is_given_in() -> None:
    result = due("1 business hour", ny(2025, 6, 6, 16, 30).astimezone(ZoneInfo("Asia/Tokyo")))
    assert result.tzinfo is UTC
    assert result == datetime(2025, 6, 9, 12, 30, tzinfo=UTC)


def test_a_lunch_break_is_not_business_time() -> None:
    assert due("1 business hour", ny(2025, 6, 9, 11, 30), LUNCH_TEAM) == ny(2025, 6, 9, 13, 30)
    assert LUNCH_TEAM.next_open(ny(2025, 6, 9, 12, 15)) == ny(2025, 6, 9, 13)
    assert LUNCH_TEAM.business_time_between(ny(2025, 6, 9), ny(2025, 6, 10)) == timedelta(hours=8)


# --- business days -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(ny(2025, 6, 9, 10), ny(2025, 6, 10, 10), id="open: same time next day"),
        pytest.param(ny(2025, 6, 6, 16, 30), ny(2025, 6, 9, 16, 30), id="Friday to Monday"),
        pytest.param(ny(2025, 5, 23, 10), ny(2025, 5, 27, 10), id="over a Monday holiday"),
        pytest.param(ny(2025, 6, 7, 10), ny(2025, 6, 9, 17), id="Saturday: end of Monday"),
        pytest.param(ny(2025, 6, 9, 7), ny(2025, 6, 9, 17), id="before opening: end of day"),
        pytest.param(ny(2025, 6, 9, 17), ny(2025, 6, 10, 17), id="at closing: end of next"),
    ],
)
def test_one_business_day_is_the_same_local_time_on_the_next_open_day(
    start: datetime, expected: datetime
) -> None:
    assert due("1 business day", start) == expected


def test_several_business_days_count_open_days_only() -> None:
    assert due("2 business days", ny(2025, 6, 11, 9, 15)) == ny(2025, 6, 13, 9, 15)
    assert due("3 business days", ny(2025, 7, 2, 9)) == ny(2025, 7, 8, 9)


def test_a_business_day_ending_in_a_break_is_due_at_the_start_of_the_break() -> None:
    # Clock starts at 13:00 Monday; Tuesday 13:00 holds the same open time as Tuesday 12:00.
    assert due("1 business day", ny(2025, 6, 9, 12, 30), LUNCH_TEAM) == ny(2025, 6, 10, 12)


# --- wall-clock SLAs -----------------------------------------------------------------------


def test_wall_clock_slas_ignore_opening_hours_and_holidays() -> None:
    friday = ny(2025, 6, 6, 16, 30)
    assert due("2 hours", friday) == ny(2025, 6, 6, 18, 30)
    assert due("30 minutes", ny(2025, 6, 7, 10)) == ny(2025, 6, 7, 10, 30)
    assert due("3 days", ny(2025, 5, 23, 16, 30)) == ny(2025, 5, 26, 16, 30)


# --- DST -----------------------------------------------------------------------------------


def test_spring_forward_weekend_keeps_local_opening_times() -> None:
    assert due("1 business hour", ny(2025, 3, 7, 16, 30)) == datetime(
        2025, 3, 10, 12, 30, tzinfo=UTC
    )
    assert due("1 business day", ny(2025, 3, 7, 10)) == datetime(2025, 3, 10, 14, tzinfo=UTC)


def test_fall_back_weekend_keeps_local_opening_times() -> None:
    assert due("1 business hour", ny(2025, 10, 31, 16, 30)) == datetime(
        2025, 11, 3, 13, 30, tzinfo=UTC
    )
    assert due("1 business day", ny(2025, 10, 31, 10)) == datetime(2025, 11, 3, 15, tzinfo=UTC)


def test_a_wall_clock_day_spans_23_or_25_hours_across_dst_but_hours_do_not() -> None:
    saturday = ny(2025, 3, 8, 12)
    assert due("1 day", saturday) - saturday == timedelta(hours=23)
    assert due("24 hours", saturday) == ny(2025, 3, 9, 13)
    autumn = ny(2025, 11, 1, 12)
    assert due("1 day", autumn) - autumn == timedelta(hours=25)


def test_a_night_interval_loses_an_hour_in_spring_and_gains_one_in_autumn() -> None:
    def night(day: int, month: int) -> timedelta:
        return NIGHT_TEAM.business_time_between(ny(2025, month, day), ny(2025, month, day, 6))

    assert night(9, 3) == timedelta(hours=2)
    assert night(2, 11) == timedelta(hours=4)
    spring = NIGHT_TEAM.add_business_time(ny(2025, 3, 9, 1), timedelta(hours=1, minutes=30))
    assert spring == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT
    autumn = NIGHT_TEAM.add_business_time(ny(2025, 11, 2, 1), timedelta(hours=1, minutes=30))
    assert autumn == datetime(2025, 11, 2, 6, 30, tzinfo=UTC)  # the second 01:30, EST


def test_an_opening_time_skipped_by_spring_forward_opens_after_the_gap() -> None:
    hours = BusinessHours("America/New_York", ((),) * 6 + (((time(2, 30), time(4)),),))
    assert hours.next_open(ny(2025, 3, 9)) == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)
    day = hours.business_time_between(ny(2025, 3, 9), ny(2025, 3, 10))
    assert day == timedelta(minutes=30)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "week", "message"),
    [
        ("America/Nowhere", TEAM.week, "unknown time zone `America/Nowhere`"),
        ("../etc/passwd", TEAM.week, "unknown time zone"),
        ("UTC", TEAM.week[:5], "the week needs 7 days"),
        ("UTC", ((),) * 7, "no opening hours"),
        ("UTC", (((time(17), time(8)),),) + ((),) * 6, "Monday 17:00–08:00: the end is not after"),
        ("UTC", ((),) + (((time(9), time(9)),),) + ((),) * 5, "Tuesday 09:00–09:00"),
        (
            "UTC",
            ((),) * 2 + (((time(13), time(17)), (time(8), time(13, 30))),) + ((),) * 4,
            "Wednesday 08:00–13:30 and 13:00–17:00 overlap",
        ),
    ],
)
def test_invalid_business_hours_are_refused_with_a_clear_message(
    zone: str, week: tuple[tuple[tuple[time, time], ...], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessHours(zone, week)


def test_naive_instants_and_negative_durations_are_refused() -> None:
    naive = datetime(2025, 6, 9, 10)  # noqa: DTZ001 - the point of the test
    for call in (
        lambda: TEAM.next_open(naive),
        lambda: TEAM.add_business_time(naive, timedelta(hours=1)),
        lambda: TEAM.business_time_between(ny(2025, 6, 9), naive),
        lambda: parse_sla("1 day").due(naive, TEAM),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()
    with pytest.raises(ValueError, match="negative"):
        TEAM.add_business_time(ny(2025, 6, 9), timedelta(minutes=-1))


def test_adjacent_intervals_are_one_stretch_of_open_time() -> None:
    hours = BusinessHours("UTC", ((MORNING, (time(12), time(13))),) * 7)
    start = datetime(2025, 6, 9, 11, 30, tzinfo=UTC)
    assert hours.add_business_time(start, timedelta(hours=1)) == start + timedelta(hours=1)


# --- the SLA language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 business hour", Sla(1, SlaUnit.HOURS, business=True)),
        ("4 business hours", Sla(4, SlaUnit.HOURS, business=True)),
        ("  2   Business   DAYS ", Sla(2, SlaUnit.DAYS, business=True)),
        ("15 business minutes", Sla(15, SlaUnit.MINUTES, business=True)),
        ("30 Minutes", Sla(30, SlaUnit.MINUTES, business=False)),
        ("1 hour", Sla(1, SlaUnit.HOURS, business=False)),
        ("3 days", Sla(3, SlaUnit.DAYS, business=False)),
    ],
)
def test_sla_texts_parse_case_insensitively_and_print_canonically(text: str, expected: Sla) -> None:
    assert parse_sla(text) == expected
    assert parse_sla(str(expected)) == expected
    assert str(parse_sla(text)) == " ".join(text.lower().split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the SLA is empty"),
        ("one business hour", "`one` is not a whole number"),
        ("1.5 hours", "`1.5` is not a whole number"),
        ("1 business", "has no unit"),
        ("2 business weeks", "`weeks` is not a unit"),
        ("1 busines hour", "`busines` is not a unit"),
        ("1 hour sharp", "unexpected `sharp` after the unit"),
        ("0 business hours", "N must be ≥ 1"),
    ],
)
def test_malformed_sla_texts_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sla(text)


def test_every_shipped_playbook_sla_parses_as_business_time() -> None:
    for name in shipped_playbooks():
        for queue in load_playbook(name).queues:
            for target in queue.sla.values():
                sla = parse_sla(str(target))
                assert sla.business
                assert (sla.amount, sla.unit.value) == (target.amount, target.unit)


# --- properties ----------------------------------------------------------------------------

calendars = st.sampled_from(
    [
        TEAM,
        LUNCH_TEAM,
        NIGHT_TEAM,
        BusinessHours(
            "Australia/Lord_Howe",  # a 30-minute DST change at 02:00
            (((time(1, 15), time(2, 45)),),) * 6 + (((time(0), time(23, 59)),),),
            frozenset({date(2025, 12, 25)}),
        ),
    ]
)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@SETTINGS
@given(calendars, instants, durations)
def test_adding_business_time_then_measuring_it_gives_it_back_exactly(
    hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    assert hours.business_time_between(start, hours.add_business_time(start, duration)) == duration


@SETTINGS
@given(calendars, instants, durations, durations)
def test_more_business_time_never_ends_earlier(
    hours: BusinessHours, start: datetime, one: timedelta, other: timedelta
) -> None:
    shorter, longer = sorted((one, other))
    assert hours.add_business_time(start, shorter) <= hours.add_business_time(start, longer)


@SETTINGS
@given(calendars, instants, durations)
def test_a_deadline_is_never_inside_closed_time(
    hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    deadline = hours.add_business_time(start, duration)
    if not duration:
        assert deadline == start  # zero time: the start itself, open or closed
    else:  # the last microsecond before the deadline is open time
        assert deadline > start
        assert hours.is_open(deadline - timedelta(microseconds=1))


@SETTINGS
@given(calendars, instants)
def test_next_open_is_open_idempotent_and_costs_no_business_time(
    hours: BusinessHours, instant: datetime
) -> None:
    opening = hours.next_open(instant)
    assert opening >= instant
    assert hours.is_open(opening)
    assert hours.next_open(opening) == opening
    assert hours.business_time_between(instant, opening) == timedelta(0)


@SETTINGS
@given(calendars, instants, st.integers(1, 5))
def test_business_days_end_in_open_time_after_whole_days(
    hours: BusinessHours, start: datetime, days: int
) -> None:
    deadline = Sla(days, SlaUnit.DAYS, business=True).due(start, hours)
    assert deadline > hours.next_open(start)
    assert hours.is_open(deadline - timedelta(microseconds=1))
    assert deadline <= Sla(days + 1, SlaUnit.DAYS, business=True).due(start, hours)
