"""Column mappings: rename a CRM export's columns to canonical names before parsing.

A mapping file is YAML (``.yaml``/``.yml``) or JSON (``.json``)::

    leads:
      Email Address: email
      Lead Number: lead_id
      Favourite Clinic: custom.favourite_clinic
    events:
      Activity: type
      Activity Date: occurred_at
      Campaign Code: properties.campaign_code

Targets are checked when the file is loaded, so a typo is an error rather than a silently
ignored column: a lead target is a canonical lead field or ``custom.NAME``; an event target
is ``event_id``, ``lead_id``, ``type``, ``occurred_at``, ``properties``, a known event
property, a lead field (for ``profile_updated``) or ``properties.NAME``. A source written
``First Name | FirstName`` lists alternative column names (a file has one of them).

Optional sections ``values`` (with ``leads`` and ``events``) and ``dates`` recode values
before parsing (see :mod:`leadflow.adapters.records.recode`); the shipped CRM presets are
mapping files of this kind.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from leadflow.adapters.records.recode import ZONE_REQUIRED, Dates, ValueMap, fold, time_zone
from leadflow.domain.events import EVENT_PROPERTIES
from leadflow.domain.profile import LEAD_FIELDS
from leadflow.errors import InputFileError

EVENT_CORE_FIELDS: tuple[str, ...] = ("event_id", "lead_id", "type", "occurred_at")
_LEAD_TARGETS = frozenset(LEAD_FIELDS)
_EVENT_TARGETS = frozenset(
    {*EVENT_CORE_FIELDS, "properties", *LEAD_FIELDS}
    | {spec.name for specs in EVENT_PROPERTIES.values() for spec in specs}
)
_OPEN_PREFIX = {"leads": "custom.", "events": "properties."}
_SECTIONS = ("leads", "events", "values", "dates")


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_values() -> Mapping[str, ValueMap]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ColumnMapping:
    """Source column name → canonical name, for the leads file and for the events file;
    value maps for each (canonical field → source value → fields to set); date formats."""

    leads: Mapping[str, str] = field(default_factory=_empty)
    events: Mapping[str, str] = field(default_factory=_empty)
    lead_values: Mapping[str, ValueMap] = field(default_factory=_no_values)
    event_values: Mapping[str, ValueMap] = field(default_factory=_no_values)
    dates: Dates = field(default_factory=Dates)


def _read(path: Path) -> object:
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise InputFileError(f"{path}: a column mapping must be a .yaml, .yml or .json file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: column mapping file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the column mapping ({exc})") from None
    try:
        return json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        reason = getattr(exc, "problem", None) or "syntax error"
        raise InputFileError(f"{where}: not valid YAML: {reason}") from None


def _check_target(section: str, target: str) -> str | None:
    """Why ``target`` is not a valid name in ``section``, or ``None``."""
    prefix = _OPEN_PREFIX[section]
    if target.startswith(prefix):
        return None if target.removeprefix(prefix) else f"`{prefix}` needs a name after it"
    known = _LEAD_TARGETS if section == "leads" else _EVENT_TARGETS
    if target in known:
        return None
    kind = "lead field" if section == "leads" else "event field or property"
    close = difflib.get_close_matches(target, sorted(known), n=1)
    hint = f"did you mean `{close[0]}`?" if close else f"use `{prefix}{target}` to keep it as is"
    return f"unknown {kind} `{target}`; {hint}"


def _section(section: str, raw: object, problems: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{section}: expected a mapping of source column → canonical name")
        return {}
    renames: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for key, value in raw.items():
        source = str(key).strip()
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{section}: `{source}`: the target must be a field name")
            continue
        target = value.strip()
        why = _check_target(section, target)
        if why is not None:
            problems.append(f"{section}: `{source}`: {why}")
        elif target in claimed:
            problems.append(f"{section}: `{source}` and `{claimed[target]}` both map to `{target}`")
        else:
            claimed[target] = source
            for alternative in source.split("|"):
                renames[alternative.strip()] = target
    return renames


def _value_target(section: str, name: str, raw: object, problems: list[str]) -> dict[str, str]:
    """What one source value becomes: ``{field: value}`` (a text target is for ``name``)."""
    where = f"values: `{name}`"
    targets = {name: raw} if isinstance(raw, str) else raw
    if not isinstance(targets, dict):
        problems.append(f"{where}: expected a value or a mapping of field → value")
        return {}
    found: dict[str, str] = {}
    for key, value in targets.items():
        why = _check_target(section, str(key))
        if why is not None:
            problems.append(f"{where}: {why}")
        elif not isinstance(value, str | int | float | bool):
            problems.append(f"{where}: `{key}`: expected a single value")
        else:
            found[str(key)] = str(value)
    return found


def _values(raw: object, problems: list[str]) -> dict[str, dict[str, ValueMap]]:
    """The ``values`` section: per file kind, per canonical field, source value → fields."""
    found: dict[str, dict[str, ValueMap]] = {"leads": {}, "events": {}}
    if raw is None:
        return found
    if not isinstance(raw, dict) or any(k not in found for k in raw):
        problems.append("values: expected `leads` and/or `events`, each field → value map")
        return found
    for section, fields in raw.items():
        for name, table in (fields or {}).items():
            where = f"values: `{name}`"
            why = _check_target(section, str(name))
            if why is not None or not isinstance(table, dict):
                problems.append(f"{where}: {why or 'expected source value → target'}")
                continue
            found[section][str(name)] = MappingProxyType(
                {
                    fold(str(v)): _value_target(section, str(name), t, problems)
                    for v, t in table.items()
                }
            )
    return found


def _dates(raw: object, problems: list[str]) -> Dates:
    if raw is None:
        return Dates()
    if not isinstance(raw, dict) or set(raw) - {"formats", "time_zone"}:
        problems.append("dates: expected `formats` (a list) and/or `time_zone`")
        return Dates()
    formats = raw.get("formats") or []
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        problems.append("dates: `formats`: expected a list of strptime patterns (`%m/%d/%Y`)")
        formats = []
    zone = raw.get("time_zone")
    if zone is not None and zone != ZONE_REQUIRED:
        try:
            time_zone(str(zone))
        except ValueError as exc:
            problems.append(f"dates: `time_zone`: {exc}")
    return Dates(tuple(formats), None if zone is None else str(zone))


def load_mapping(path: str | Path) -> ColumnMapping:
    """Load and check a column mapping file; every problem is reported at once."""
    source = Path(path)
    data = _read(source)
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: expected a mapping with `leads` and/or `events`")
    problems = [
        f"unknown section `{key}`; expected `leads` or `events` (or `values`, `dates`)"
        for key in data
        if key not in _SECTIONS
    ]
    leads = _section("leads", data.get("leads"), problems)
    events = _section("events", data.get("events"), problems)
    values = _values(data.get("values"), problems)
    dates = _dates(data.get("dates"), problems)
    if problems:
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        raise InputFileError(f"{source}: the column mapping is not valid:\n{lines}")
    return ColumnMapping(
        MappingProxyType(leads),
        MappingProxyType(events),
        MappingProxyType(values["leads"]),
        MappingProxyType(values["events"]),
        dates,
    )
