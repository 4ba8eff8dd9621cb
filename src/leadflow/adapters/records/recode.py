"""Values as a CRM wrote them, recoded before parsing: value maps and date formats.

A column mapping (see :mod:`leadflow.adapters.records.mapping`) may carry, besides its
column renames:

- ``values``: per canonical field (after renaming), what a source value means, e.g.
  HubSpot's ``Organic search`` in ``source`` → ``{source: organic_search, channel:
  organic_search}``. Values are matched ignoring case, spaces, ``_`` and ``-``; a value the
  map does not list is kept as it is. A plain text target replaces the value; a mapping of
  fields sets each of them (the field itself keeps its value unless the mapping names it;
  an empty text clears a field).
- ``dates``: ``formats`` (``strptime`` patterns such as ``%m/%d/%Y %H:%M``) tried after
  ISO-8601 for ``created_at`` and ``occurred_at``, and ``time_zone``: the IANA zone of
  times written without a UTC offset, or ``required`` when only the user can know it.

A time without an offset is read in the time zone given (``--time-zone``, the
``LEADFLOW_IMPORT_TIME_ZONE`` setting, else the mapping's), else as UTC, and those are
counted so that the import can say so. A value no format reads is left for the parser to
reject with its row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATE_FIELDS = ("created_at", "occurred_at")
ZONE_REQUIRED = "required"
_FOLD = re.compile(r"[\s_\-]+")

ValueMap = Mapping[str, Mapping[str, str]]  # folded source value → fields to set


def fold(value: str) -> str:
    """A value as value maps match it: case, spaces, ``_`` and ``-`` ignored."""
    return _FOLD.sub(" ", value.casefold()).strip()


def time_zone(name: str) -> tzinfo:
    """The IANA time zone ``name``; ``ValueError`` naming it when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone `{name[:60]}`; use an IANA name such as America/New_York"
        ) from None


def _empty() -> Mapping[str, ValueMap]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Dates:
    """How a file writes its date-times: ``strptime`` formats after ISO-8601, and the time
    zone of times without an offset (an IANA name, ``required``, or ``None``: UTC)."""

    formats: tuple[str, ...] = ()
    time_zone: str | None = None

    @property
    def zone_required(self) -> bool:
        return self.time_zone == ZONE_REQUIRED


@dataclass
class Recoding:
    """Recodes the records of one file in place; counts the times read as UTC by default."""

    values: Mapping[str, ValueMap] = field(default_factory=_empty)
    formats: tuple[str, ...] = ()
    zone: tzinfo | None = None
    naive_as_utc: int = 0

    def apply(self, record: dict[str, object]) -> None:
        for name, table in self.values.items():
            raw = record.get(name)
            if isinstance(raw, str) and raw.strip():
                found = table.get(fold(raw))
                if found is not None:
                    record.update(found)
        for name in DATE_FIELDS:
            raw = record.get(name)
            if isinstance(raw, str) and raw.strip():
                record[name] = self._date(raw.strip())

    def _date(self, text: str) -> str:
        when = _read_date(text, self.formats)
        if when is None:
            return text  # the parser rejects the row, naming the field
        if when.tzinfo is None:
            if self.zone is None:
                self.naive_as_utc += 1
            when = when.replace(tzinfo=self.zone or UTC)
        return when.isoformat()


def _read_date(text: str, formats: tuple[str, ...]) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern)  # noqa: DTZ007 - the zone is added after
        except ValueError:
            continue
    return None


def fingerprint(values: Mapping[str, ValueMap], dates: Dates, zone: str | None) -> dict[str, Any]:
    """What of a recoding changes the stored rows, for the import run's id (empty when
    nothing does, so that plain imports keep their ids)."""
    found: dict[str, Any] = {}
    if values:
        found["\0values"] = {k: {v: dict(t) for v, t in m.items()} for k, m in values.items()}
    if dates.formats:
        found["\0formats"] = list(dates.formats)
    if zone:
        found["\0zone"] = zone
    return found
