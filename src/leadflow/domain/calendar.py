"""Business hours and SLA deadlines: pure, time passed in, results in UTC.

Open time is the union of the team's weekly wall-clock intervals in its IANA time zone,
minus holidays (whole local dates). Each interval is converted to instants with zoneinfo on
its own date, so DST changes are honoured (an 08:00–17:00 day is 9 hours on either side of a
change; a wall-clock time the change skips or repeats is read as Python does, PEP 495
``fold=0``: the offset before the change, the first occurrence). Windows are half-open,
``[opens, closes)``. The SLA language and its semantics are in docs/sla.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[time, time]
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONE_DAY = timedelta(days=1)


def _utc(instant: datetime, what: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"the {what} {instant.isoformat()} is naive; pass an aware datetime")
    return instant.astimezone(UTC)


def _span(interval: Interval) -> str:
    return f"{interval[0]:%H:%M}–{interval[1]:%H:%M}"


@dataclass(frozen=True)
class BusinessHours:
    """A team's opening hours: weekly local intervals (Monday first) and local holidays."""

    zone: str
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone `{self.zone}`; use an IANA name such as America/New_York"
            ) from None
        if len(self.week) != 7:
            raise ValueError(f"the week needs 7 days, Monday first; got {len(self.week)}")
        week = tuple(tuple(sorted(day)) for day in self.week)
        for name, day in zip(DAY_NAMES, week, strict=True):
            for start, end in day:
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError(f"{name} {_span((start, end))}: give local times, no tzinfo")
                if end <= start:
                    raise ValueError(f"{name} {_span((start, end))}: the end is not after start")
            for before, after in pairwise(day):
                if after[0] < before[1]:
                    raise ValueError(f"{name} {_span(before)} and {_span(after)} overlap")
        if not any(week):
            raise ValueError("the week has no opening hours; the team would never be open")
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_tz", tz)

    @classmethod
    def weekdays(
        cls, zone: str, opens: time, closes: time, holidays: frozenset[date] = frozenset()
    ) -> BusinessHours:
        """Monday to Friday from ``opens`` to ``closes``, closed at weekends."""
        open_day: tuple[Interval, ...] = ((opens, closes),)
        return cls(zone, (open_day,) * 5 + ((),) * 2, holidays)

    @classmethod
    def always_open(cls) -> BusinessHours:
        """Open around the clock in UTC (to within a microsecond at midnight); no holidays."""
        whole_day: tuple[Interval, ...] = ((time.min, time.max),)
        return cls("UTC", (whole_day,) * 7)

    def _instant(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self._tz).astimezone(UTC)

    def _windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open windows in UTC, ordered, disjoint and within the local day."""
        if day in self.holidays:
            return []
        low, high = self._instant(day, time()), self._instant(day + _ONE_DAY, time())
        windows: list[tuple[datetime, datetime]] = []
        floor = low
        for start, end in self.week[day.weekday()]:
            opens = min(max(self._instant(day, start), floor), high)
            closes = min(max(self._instant(day, end), opens), high)
            if closes > opens:  # empty only when a DST change swallows the interval
                windows.append((opens, closes))
            floor = closes
        return windows

    def _windows(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Every window from the local day before ``instant`` on; endless (the week opens)."""
        day = instant.astimezone(self._tz).date() - _ONE_DAY
        while True:
            yield from self._windows_on(day)
            day += _ONE_DAY

    def next_open(self, t: datetime) -> datetime:
        """The first instant ≥ ``t`` when the team is open."""
        t = _utc(t)
        return next(max(opens, t) for opens, closes in self._windows(t) if closes > t)

    def is_open(self, t: datetime) -> bool:
        """Whether ``t`` lies in an open window (a closing instant is closed)."""
        return self.next_open(t) == _utc(t)

    def next_open_day(self, day: date) -> date:
        """The first local date after ``day`` with open time (not a holiday, not closed)."""
        day += _ONE_DAY
        while not self._windows_on(day):
            day += _ONE_DAY
        return day

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant after ``duration`` of open time counted from ``start``.

        The clock starts at the next opening when ``start`` is closed; a zero duration returns
        ``start`` itself (in UTC). A positive duration ends inside open time or exactly at a
        closing instant, never later in closed time.
        """
        t = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"the duration {duration} is negative")
        if not duration:
            return t
        remaining = duration
        for opens, closes in self._windows(t):
            if closes <= t:
                continue
            begin = max(opens, t)
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: the windows never end")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time in ``[a, b)``; negative when ``b`` is before ``a``."""
        a, b = _utc(a), _utc(b)
        if b < a:
            return -self.business_time_between(b, a)
        total = timedelta(0)
        for opens, closes in self._windows(a):
            if opens >= b:
                return total
            total += max(timedelta(0), min(closes, b) - max(opens, a))
        raise AssertionError("unreachable: the windows never end")  # pragma: no cover

    def local(self, t: datetime) -> datetime:
        """``t`` on the team's wall clock."""
        return _utc(t).astimezone(self._tz)


class SlaUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


_FORMS = (
    'write "N business minutes", "N business hours", "N business days", "N minutes", '
    '"N hours" or "N days" with a whole N ≥ 1 (the singular works too)'
)


@dataclass(frozen=True)
class Sla:
    """A deadline: ``amount`` units of business time or of wall-clock time."""

    amount: int
    unit: SlaUnit
    business: bool

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError(f"an SLA of {self.amount} {self.unit} is no deadline; N must be ≥ 1")

    def __str__(self) -> str:
        unit = self.unit.value if self.amount != 1 else self.unit.value.removesuffix("s")
        return f"{self.amount} {'business ' if self.business else ''}{unit}"

    def due(self, start: datetime, hours: BusinessHours) -> datetime:
        """The deadline, in UTC, of work that starts at ``start`` for a team open ``hours``."""
        start = _utc(start, "start")
        if self.unit is SlaUnit.DAYS:
            if not self.business:  # calendar days on the team's wall clock
                wall = hours.local(start).replace(fold=0) + timedelta(days=self.amount)
                return wall.astimezone(UTC)
            clock = hours.next_open(start)
            wall = hours.local(clock)
            day = wall.date()
            for _ in range(self.amount):
                day = hours.next_open_day(day)
            target = datetime.combine(day, wall.time(), tzinfo=wall.tzinfo)
            return hours.add_business_time(clock, hours.business_time_between(clock, target))
        length = timedelta(**{self.unit.value: self.amount})
        return hours.add_business_time(start, length) if self.business else start + length


_NUMBER = re.compile(r"[0-9]+")
_UNITS = {unit.value.removesuffix("s"): unit for unit in SlaUnit} | {u.value: u for u in SlaUnit}


def parse_sla(text: str) -> Sla:
    """``"2 business hours"``, ``"1 Business Day"``, ``"30 minutes"``, … as an ``Sla``."""
    words = text.lower().split()
    if not words:
        raise ValueError(f"the SLA is empty; {_FORMS}")
    number, *rest = words
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"SLA `{text}`: `{number}` is not a whole number; {_FORMS}")
    business = rest[:1] == ["business"]
    rest = rest[1:] if business else rest
    if not rest:
        raise ValueError(f"SLA `{text}` has no unit; {_FORMS}")
    if rest[0] not in _UNITS:
        raise ValueError(f"SLA `{text}`: `{rest[0]}` is not a unit; {_FORMS}")
    if len(rest) > 1:
        raise ValueError(
            f"SLA `{text}`: unexpected `{' '.join(rest[1:])}` after the unit; {_FORMS}"
        )
    amount = int(number)
    if amount < 1:
        raise ValueError(f"SLA `{text}`: N must be ≥ 1; {_FORMS}")
    return Sla(amount, _UNITS[rest[0]], business)
