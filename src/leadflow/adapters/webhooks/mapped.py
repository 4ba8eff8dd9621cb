"""A vendor payload turned into leadflow's ``{lead, events}`` shape by a source mapping.

Nothing here stores anything: the result is validated and stored like any delivery in
leadflow's own shape. A payload that does not fit (a required path missing, an object where
one value belongs, a time that does not parse) raises :class:`InvalidRecordError` whose
problems name the JSON path and the target, never the value found there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from leadflow.adapters.webhooks.mapping import EventMapping, SourceMapping, Time, Value
from leadflow.adapters.webhooks.paths import MISSING, json_equal
from leadflow.errors import InvalidRecordError, RecordProblem

SOURCE = "request"
_CONSENT_FLAGS = ("consent_email", "consent_sms", "consent_phone")


@dataclass
class Mapped:
    """The delivery in leadflow's shape, and the JSON path each mapped field came from
    (``lead.email``; ``events`` by row: ``occurred_at``, ``properties.form``)."""

    body: dict[str, Any]
    lead_paths: dict[str, str] = field(default_factory=dict)
    event_paths: list[dict[str, str]] = field(default_factory=list)

    def path_of(self, target: str, row: int | None) -> str | None:
        """Where ``target`` (``lead.email``, ``events.occurred_at``) came from, if mapped."""
        if target.startswith("lead."):
            return self.lead_paths.get(target.removeprefix("lead."))
        if target.startswith("events.") and row is not None and 0 < row <= len(self.event_paths):
            return self.event_paths[row - 1].get(target.removeprefix("events."))
        return None


class _Reader:
    """Reads values out of one payload, collecting every problem."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.problems: list[RecordProblem] = []

    def problem(self, row: int, path: str, target: str, message: str) -> None:
        self.problems.append(RecordProblem(SOURCE, row, None, path, f"{message} (`{target}`)"))

    def value(self, spec: Value, target: str, row: int = 1) -> Any:
        """The value for ``target``, or :data:`MISSING` when the payload has none."""
        if spec.path is None:
            return spec.constant
        found = spec.path.find(self.payload)
        if found is MISSING or found is None or found == "":
            if spec.default is not None:
                return spec.default
            if spec.required:
                self.problem(row, spec.path.text, target, "missing, and the mapping requires it")
            return MISSING
        if isinstance(found, dict | list):
            kind = "an object" if isinstance(found, dict) else "a list"
            self.problem(row, spec.path.text, target, f"expected one value, found {kind}")
            return MISSING
        if spec.name_part is not None and isinstance(found, str):
            first, _, rest = found.strip().partition(" ")
            found = first if spec.name_part == "first" else rest.strip()
            if not found:
                return MISSING
        if spec.map:
            key = str(found).lower() if isinstance(found, bool) else str(found)
            found = spec.map.get(key.strip().casefold(), found)
        return found

    def time(self, spec: Time, target: str, row: int) -> str | None:
        found = spec.path.find(self.payload)
        if found is MISSING or found is None or found == "":
            self.problem(row, spec.path.text, target, "missing, and the mapping requires it")
            return None
        try:
            return _instant(found, spec.format, spec.zone).isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            self.problem(row, spec.path.text, target, f"not a time in the `{spec.format}` format")
            return None


def _instant(raw: object, fmt: str, zone: tzinfo) -> datetime:
    if fmt in ("unix", "unix_ms"):
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise TypeError(fmt)
        seconds = float(raw) / (1000 if fmt == "unix_ms" else 1)
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(raw, str):
        raise TypeError(fmt)
    parsed = datetime.fromisoformat(raw) if fmt == "iso8601" else datetime.strptime(raw, fmt)  # noqa: DTZ007 - zone applied below
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _text(value: Any) -> Any:
    """A mapped value for a text field: numbers as text, booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _lead(reader: _Reader, mapping: SourceMapping, mapped: Mapped) -> None:
    lead: dict[str, Any] = {}
    for target, spec in mapping.lead.items():
        value = reader.value(spec, f"lead.{target}")
        if value is not MISSING:
            lead[target] = value if target in _CONSENT_FLAGS else _text(value)
            if spec.path is not None:
                mapped.lead_paths[target] = spec.path.text
    for group, specs in (("custom", mapping.custom), ("consent", mapping.consent)):
        values = {n: reader.value(s, f"lead.{group}.{n}") for n, s in specs.items()}
        kept = {n: _text(v) for n, v in values.items() if v is not MISSING}
        if kept:
            lead[group] = kept
    if lead:
        mapped.body["lead"] = lead


def _applies(reader: _Reader, event: EventMapping) -> bool:
    if event.when is None:
        return True
    path, wanted = event.when
    found = path.find(reader.payload)
    return any(json_equal(found, w) for w in wanted)


def _event(reader: _Reader, event: EventMapping, row: int) -> tuple[dict[str, Any], dict[str, str]]:
    record: dict[str, Any] = {"type": event.type, "properties": {}}
    paths: dict[str, str] = {}
    if event.event_id is not None:
        found = reader.value(event.event_id, "event_id", row)
        if found is not MISSING:
            record["event_id"] = _text(found)
    if event.occurred_at is not None:
        record["occurred_at"] = reader.time(event.occurred_at, "occurred_at", row)
        paths["occurred_at"] = event.occurred_at.path.text
    for name, spec in event.properties.items():
        found = reader.value(spec, f"properties.{name}", row)
        if found is not MISSING:
            record["properties"][name] = found
            if spec.path is not None:
                paths[f"properties.{name}"] = spec.path.text
    return record, paths


def apply_mapping(mapping: SourceMapping, payload: object) -> Mapped:
    """``payload`` (parsed JSON) in leadflow's delivery shape, or :class:`InvalidRecordError`."""
    if not isinstance(payload, dict):
        problem = RecordProblem(SOURCE, 1, None, "$", "the payload is not a JSON object")
        raise InvalidRecordError([problem])
    reader = _Reader(payload)
    mapped = Mapped({"events": []})
    _lead(reader, mapping, mapped)
    for event in mapping.events:
        if _applies(reader, event):
            record, paths = _event(reader, event, len(mapped.event_paths) + 1)
            mapped.body["events"].append(record)
            mapped.event_paths.append(paths)
    if reader.problems:
        raise InvalidRecordError(reader.problems)
    return mapped
