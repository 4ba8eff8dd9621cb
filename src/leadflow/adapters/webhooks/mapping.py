"""Webhook source mappings: a vendor's payload, by JSON paths, to leadflow's lead and events.

A mapping is a YAML file, checked in full when it is loaded; every problem names the file,
line, column and key, with a suggested fix (the playbook loader's machinery)::

    lead:
      email: "$.form_response.answers[?(@.field.ref == 'email')].email"
      lead_type: {value: patient}
      service_line: {path: "$.form_response.hidden.service", map: {heart: cardiology}}
    events:
      - type: form_submitted
        occurred_at: {path: $.form_response.submitted_at, format: iso8601}
        properties:
          form: $.form_response.form_id

A value is a path (text starting with ``$``) or ``{path | value, map, default, required,
name_part}``. Shipped mappings (``web-form``, ``call-tracking``, ``webinar``) live in
``leadflow/samples/webhooks``. See docs/webhooks.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, did_you_mean, dotted, one_of
from leadflow.adapters.playbook_yaml.source import Source, YamlSyntaxError, parse
from leadflow.adapters.playbook_yaml.validation import issues_from
from leadflow.adapters.playbook_yaml.values import fail
from leadflow.adapters.webhooks.paths import JsonPath, JsonPathError, parse_path
from leadflow.domain.events import EventType
from leadflow.domain.profile import LEAD_FIELDS
from leadflow.errors import PlaybookProblem, SourceMappingError

Scalar = str | int | float | bool | None
LEAD_TARGETS: tuple[str, ...] = (*LEAD_FIELDS, "external_id")
# the fields of a webhook lead's `consent` object (ConsentEvidenceIn in the API schemas)
CONSENT_TARGETS: tuple[str, ...] = (
    "purpose",
    "method",
    "disclosure_version",
    "page_url",
    "user_agent",
    "text",
)
TIME_FORMATS = ("iso8601", "unix", "unix_ms")
SUFFIXES = (".yaml", ".yml")


def _as_path_spec(value: object) -> object:
    return {"path": value} if isinstance(value, str) else value


def _path(value: str) -> str:
    try:
        parse_path(value)
    except JsonPathError as exc:
        fail(f"not a JSON path: {exc}", "write `$.key.sub`, `$['odd key']`, `$.list[0]`")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValueModel(_Model):
    path: str | None = None
    value: Scalar = None
    map: dict[str, Scalar] = Field(default_factory=dict)
    default: Scalar = None
    required: bool = False
    name_part: Literal["first", "last"] | None = None

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        return value if value is None else _path(value)

    @model_validator(mode="after")
    def _one_source(self) -> ValueModel:
        if (self.path is None) == ("value" not in self.model_fields_set):
            fail("give either `path` (read from the payload) or `value` (a constant)")
        if self.path is None and (self.required or self.map or self.name_part):
            fail("`required`, `map` and `name_part` apply to a `path`")
        return self


ValueSpec = Annotated[ValueModel, BeforeValidator(_as_path_spec)]


class TimeModel(_Model):
    path: str
    format: str = "iso8601"
    timezone: str = "UTC"

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _path(value)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in TIME_FORMATS and "%" not in value:
            fail(f"unknown time format `{value}`", f"{one_of(TIME_FORMATS)}, or a strftime pattern")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            fail(f"unknown time zone `{value}`", "an IANA name such as `America/New_York`")
        return value


class WhenModel(_Model):
    path: str
    equals: Scalar | list[Scalar]

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _path(value)


class EventModel(_Model):
    type: str
    when: WhenModel | None = None
    event_id: ValueSpec | None = None
    occurred_at: Annotated[TimeModel, BeforeValidator(_as_path_spec)] | None = None
    properties: dict[str, ValueSpec] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        types = [t.value for t in EventType]
        if value not in types:
            fail(f"unknown event type `{value}`", did_you_mean(value, types) or one_of(types))
        return value


class DedupeModel(_Model):
    ignore_properties: list[str] = Field(default_factory=list)


def _fields_of(name: str, targets: tuple[str, ...]) -> type[_Model]:
    """A model whose keys are exactly ``targets``, each an optional value: an unknown key
    is reported with the others, with a "did you mean"."""
    fields: dict[str, Any] = dict.fromkeys(targets, (ValueSpec | None, None))
    model: type[_Model] = create_model(name, __base__=_Model, **fields)
    return model


LeadFields = _fields_of("LeadFields", LEAD_TARGETS)
ConsentFields = _fields_of("ConsentFields", CONSENT_TARGETS)


def given(model: BaseModel) -> dict[str, ValueModel]:
    """The values a fields model was given, by name."""
    return {name: getattr(model, name) for name in model.model_fields_set}


class SourceMappingModel(_Model):
    description: str | None = None
    lead: LeadFields = Field(default_factory=LeadFields)  # type: ignore[valid-type]
    custom: dict[str, ValueSpec] = Field(default_factory=dict)
    consent: ConsentFields = Field(default_factory=ConsentFields)  # type: ignore[valid-type]
    events: list[EventModel] = Field(default_factory=list)
    dedupe: DedupeModel = Field(default_factory=DedupeModel)

    @model_validator(mode="after")
    def _useful(self) -> SourceMappingModel:
        lead = given(self.lead)
        if not lead and not self.events:
            fail("a mapping gives a `lead`, `events`, or both")
        identity = {"lead_id", "external_id", "email", "phone"}
        if lead and not identity & set(lead):
            fail(
                "the lead has no identity: each delivery would make a new lead",
                "map one of `email`, `phone`, `external_id` or `lead_id`",
                at=("lead",),
            )
        if (self.custom or given(self.consent)) and not lead:
            fail("`custom` and `consent` belong to a mapped `lead`", at=("lead",))
        return self


# -- compiled ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """Where one value comes from: a path (with its map, default, …) or a constant."""

    path: JsonPath | None
    constant: Scalar = None
    map: Mapping[str, Scalar] = field(default_factory=lambda: MappingProxyType({}))
    default: Scalar = None
    required: bool = False
    name_part: str | None = None


@dataclass(frozen=True)
class Time:
    path: JsonPath
    format: str
    zone: ZoneInfo


@dataclass(frozen=True)
class EventMapping:
    type: str
    when: tuple[JsonPath, tuple[Scalar, ...]] | None
    event_id: Value | None
    occurred_at: Time | None
    properties: Mapping[str, Value]


@dataclass(frozen=True)
class SourceMapping:
    """A loaded mapping; ``file`` names it in messages."""

    file: str
    lead: Mapping[str, Value]
    custom: Mapping[str, Value]
    consent: Mapping[str, Value]
    events: tuple[EventMapping, ...]
    ignore_properties: frozenset[str]


def _value(model: ValueModel) -> Value:
    return Value(
        parse_path(model.path) if model.path is not None else None,
        model.value,
        MappingProxyType({k.casefold(): v for k, v in model.map.items()}),
        model.default,
        model.required,
        model.name_part,
    )


def _values(models: Mapping[str, ValueModel]) -> Mapping[str, Value]:
    return MappingProxyType({name: _value(m) for name, m in models.items()})


def _event(model: EventModel) -> EventMapping:
    when = None
    if model.when is not None:
        wanted = model.when.equals if isinstance(model.when.equals, list) else [model.when.equals]
        when = (parse_path(model.when.path), tuple(wanted))
    time = model.occurred_at
    return EventMapping(
        model.type,
        when,
        _value(model.event_id) if model.event_id else None,
        Time(parse_path(time.path), time.format, ZoneInfo(time.timezone)) if time else None,
        _values(model.properties),
    )


def _compile(model: SourceMappingModel, file: str) -> SourceMapping:
    return SourceMapping(
        file,
        _values(given(model.lead)),
        _values(model.custom),
        _values(given(model.consent)),
        tuple(_event(e) for e in model.events),
        frozenset(model.dedupe.ignore_properties),
    )


# -- loading ----------------------------------------------------------------------------


def _problem(file: str, source: Source, issue: Issue) -> PlaybookProblem:
    node: NodePath = issue.node if issue.node is not None else issue.path
    while node not in source.positions and node:
        node = node[:-1]
    line, column = issue.position or source.positions.get(node) or (None, None)
    return PlaybookProblem(file, line, column, dotted(issue.path), issue.message, issue.suggestion)


def _error(file: str, source: Source, issues: list[Issue]) -> SourceMappingError:
    problems = sorted(
        (_problem(file, source, i) for i in issues), key=lambda p: (p.line or 0, p.column or 0)
    )
    return SourceMappingError(problems)


def load_mapping_text(text: str, file: str) -> SourceMapping:
    """A mapping from YAML ``text``; ``file`` names it in problems."""
    try:
        source = parse(text)
    except YamlSyntaxError as exc:
        raise _error(file, Source(data=None), [exc.issue]) from exc
    if source.issues:
        raise _error(file, source, list(source.issues))
    if not isinstance(source.data, dict):
        issue = Issue((), "the mapping is not a mapping of keys", "start with `lead:` or `events:`")
        raise _error(file, source, [issue])
    try:
        model = SourceMappingModel.model_validate(source.data)
    except ValidationError as exc:
        raise _error(file, source, issues_from(exc, source.data, SourceMappingModel)) from exc
    return _compile(model, file)


def shipped_mappings() -> list[str]:
    """The names of the mappings shipped with leadflow, sorted."""
    folder = files("leadflow") / "samples" / "webhooks"
    return sorted(
        e.name.removesuffix(".yaml") for e in folder.iterdir() if e.name.endswith(".yaml")
    )


def load_mapping(name_or_path: str) -> SourceMapping:
    """A mapping file (a path ending in .yaml/.yml) or a shipped mapping by name.

    Raises :class:`SourceMappingError` when it is missing or has problems."""
    path = Path(name_or_path)
    if path.suffix in SUFFIXES:
        if not path.is_file():
            raise SourceMappingError(
                [PlaybookProblem(name_or_path, None, None, "", "no such file")]
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problem = PlaybookProblem(name_or_path, None, None, "", "the file is not UTF-8 text")
            raise SourceMappingError([problem]) from exc
        return load_mapping_text(text, name_or_path)
    shipped = shipped_mappings()
    if name_or_path not in shipped:
        hint = did_you_mean(name_or_path, shipped) or f"shipped: {', '.join(shipped)}"
        message = f"no shipped mapping named `{name_or_path}`; or give the path of a .yaml file"
        raise SourceMappingError([PlaybookProblem(name_or_path, None, None, "", message, hint)])
    resource = files("leadflow") / "samples" / "webhooks" / f"{name_or_path}.yaml"
    return load_mapping_text(resource.read_text(encoding="utf-8"), f"{name_or_path} (shipped)")
