"""Reading events: an :class:`~leadflow.domain.events.Event` per good row.

``event_id`` (unique within the file), ``lead_id``, ``type`` and ``occurred_at`` are
required. Properties come from a nested ``properties`` object (JSON Lines) or a
``properties`` column holding a JSON object (CSV), plus every other column (a
``properties.`` prefix is dropped); a flat column wins over the nested object. Empty values
are dropped. A known property of the event type is converted from text to its kind
(boolean as for consent flags, integer, number) and checked. A ``profile_updated`` event
carries the changed lead fields, normalised as in a lead row.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from leadflow.adapters.records.leads import DATETIME_EXPECTED, NUL_MESSAGE, normalise_contact
from leadflow.adapters.records.mapping import EVENT_CORE_FIELDS
from leadflow.adapters.records.problems import FirstRows, RecordWarning, located
from leadflow.adapters.records.sources import open_records, parse_rows
from leadflow.adapters.records.values import (
    BOOLEAN_WORDS,
    parse_bool,
    parse_datetime,
    phone_region,
    text_value,
)
from leadflow.domain.events import (
    EVENT_PROPERTIES,
    Event,
    EventType,
    PropertyKind,
    PropertySpec,
    PropertyValue,
    check_property,
)
from leadflow.domain.profile import CONSENT_FIELDS
from leadflow.errors import RecordProblem

EventItem = Event | RecordProblem | RecordWarning

_REQUIRED = "required, but empty"
_PROFILE_UPDATED = EventType.PROFILE_UPDATED
_TYPES: dict[str, EventType] = {t.value: t for t in EventType}
_NOT_PROPERTIES = frozenset({*EVENT_CORE_FIELDS, "properties", ""})
_NO_PROPERTIES: Mapping[str, PropertyValue] = MappingProxyType({})
# ``known_property`` as a lookup table: it runs for every property of every event.
_SPECS: dict[EventType, dict[str, PropertySpec]] = {
    event_type: {spec.name: spec for spec in specs}
    for event_type, specs in EVENT_PROPERTIES.items()
}


def _unknown_type(text: str) -> str:
    close = difflib.get_close_matches(text.lower(), list(_TYPES), n=1)
    hint = f"did you mean `{close[0]}`?" if close else "expected a canonical event type"
    return f"unknown event type `{text[:40]}`; {hint}"


def _number_from_text(text: str, kind: PropertyKind) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if kind is PropertyKind.INTEGER:
        return int(number) if number.is_integer() else None
    return number


def _coerce(spec: PropertySpec, value: PropertyValue) -> PropertyValue:
    """``value`` as ``spec``'s kind where that is a plain conversion; else unchanged."""
    kind = spec.kind
    if isinstance(value, str):
        if kind is PropertyKind.BOOLEAN:
            flag = parse_bool(value)
            return value if flag is None else flag
        if kind is PropertyKind.TEXT:
            if spec.choices is None:
                return value
            folded = value.casefold()
            return folded if folded in spec.choices else value
        number = _number_from_text(value, kind)
        return value if number is None else number
    if isinstance(value, bool):
        return value
    if kind is PropertyKind.TEXT and isinstance(value, int | float):
        return str(value)
    if kind is PropertyKind.INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _nested(raw: object, bad: list[tuple[str, str]]) -> dict[str, object]:
    """The nested ``properties`` object, or a CSV cell holding one as JSON."""
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = None
    if isinstance(raw, dict):
        return raw
    bad.append(("properties", "expected a JSON object"))
    return {}


_SKIP: Any = object()  # a cell that is dropped (empty, or refused and reported)


def _cell(name: str, raw: object, bad: list[tuple[str, str]]) -> Any:
    """One property cell as a value: text stripped (a NUL refused), scalars as they are."""
    if isinstance(raw, str):
        value = raw.strip()
        if not value:
            return _SKIP
        if "\x00" in value:
            bad.append((f"properties.{name}", NUL_MESSAGE))
            return _SKIP
        return value
    if raw is None or isinstance(raw, bool | int | float):
        return raw
    return text_value(raw)


def _checked(
    spec: PropertySpec | None, name: str, value: PropertyValue, bad: list[tuple[str, str]]
) -> Any:
    """A known property converted to its kind; a wrong one reported and dropped."""
    if spec is None:
        return value
    value = _coerce(spec, value)
    why = check_property(spec, value)
    if why is not None:
        words = f" ({BOOLEAN_WORDS})" if spec.kind is PropertyKind.BOOLEAN else ""
        bad.append((f"properties.{name}", why + words))
        return _SKIP
    return value


def _properties(
    record: Mapping[str, object], event_type: EventType | None, bad: list[tuple[str, str]]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The properties, converted and checked: errors go to ``bad``, warnings are returned."""
    specs = _SPECS[event_type] if event_type is not None else {}
    pairs: Iterable[tuple[str, object]] = record.items()
    nested = record.get("properties")
    if nested is not None:
        merged = dict(_nested(nested, bad))  # a copy: the record refers to the nested dict
        merged.update(pairs)
        pairs = merged.items()
    props: dict[str, Any] = {}
    for key, raw in pairs:
        # Most cells of a wide CSV file are empty: drop those before anything else.
        if raw == "" or key in _NOT_PROPERTIES:
            continue
        name = key.removeprefix("properties.")
        value = _cell(name, raw, bad)
        if value is _SKIP:
            continue
        value = _checked(specs.get(name), name, value, bad)
        if value is not None and value is not _SKIP:
            props[name] = value
    if event_type is not _PROFILE_UPDATED:
        return props, []
    return props, _lead_fields(props, bad)


def _lead_fields(props: dict[str, Any], bad: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Normalise the lead fields a ``profile_updated`` event carries; returns the warnings."""
    for name in CONSENT_FIELDS:
        if name in props:
            flag = parse_bool(props[name] if isinstance(props[name], bool) else str(props[name]))
            if flag is None:
                bad.append((f"properties.{name}", f"expected {BOOLEAN_WORDS}"))
            props[name] = flag
    country = props.get("country")
    warned = normalise_contact(props, phone_region(str(country) if country else None))
    return [(f"properties.{name}", message) for name, message in warned]


class _EventParser:
    """Parses rows of one file, remembering event ids to reject duplicates."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.event_ids = FirstRows("event id")

    def parse(self, row: int, record: Mapping[str, object]) -> list[EventItem]:
        nul = [
            (core, NUL_MESSAGE)
            for core in ("event_id", "lead_id", "type", "occurred_at")
            if "\x00" in (text_value(record.get(core)) or "")
        ]
        if nul:
            return list(located(self.source, row, None, nul, []))
        bad: list[tuple[str, str]] = []
        event_id = text_value(record.get("event_id"))
        why = self.event_ids.problem(event_id, row)
        if why is not None:
            bad.append(("event_id", why))
        lead_id = text_value(record.get("lead_id"))
        if lead_id is None:
            bad.append(("lead_id", _REQUIRED))
        type_text = text_value(record.get("type"))
        event_type = None
        if type_text is None:
            bad.append(("type", _REQUIRED))
        else:
            event_type = _TYPES.get(type_text) or _TYPES.get(type_text.lower())
            if event_type is None:
                bad.append(("type", _unknown_type(type_text)))
        when = text_value(record.get("occurred_at"))
        occurred_at = None if when is None else parse_datetime(when)
        if occurred_at is None:
            bad.append(("occurred_at", _REQUIRED if when is None else DATETIME_EXPECTED))
        props, warned = _properties(record, event_type, bad)
        items: list[EventItem] = []
        if bad or warned:
            items += located(self.source, row, event_id, bad, warned)
        if not bad and event_id and lead_id and event_type and occurred_at:
            properties = MappingProxyType(props) if props else _NO_PROPERTIES
            items.append(Event(event_id, lead_id, event_type, occurred_at, properties))
        return items


def read_events(path: str | Path, mapping: Mapping[str, str] | None = None) -> Iterator[EventItem]:
    """Events in file order, each preceded by its warnings; a bad row yields only problems.

    Raises :class:`~leadflow.errors.InputFileError` at once if the file cannot be opened or
    its header lacks a required column, and while iterating if a later line cannot be read.
    """
    file = open_records(path, mapping or {}, EVENT_CORE_FIELDS)
    return parse_rows(file, _EventParser(file.name).parse)


def event_parser(source: str) -> Callable[[int, Mapping[str, object]], list[EventItem]]:
    """A parser for the records of one batch: a repeated event id is rejected."""
    return _EventParser(source).parse


def parse_event(record: Mapping[str, object], source: str, row: int = 1) -> list[EventItem]:
    """One event record (an API request body, say) parsed exactly as a file row would be."""
    return _EventParser(source).parse(row, record)
