"""The validated value types of the playbook language, each with a readable error.

Validators raise :func:`fail`, a pydantic custom error whose context carries a
``suggestion`` and, for checks made on a whole model, the sub-path (``at``) of the node
at fault; :mod:`leadflow.adapters.playbook_yaml.validation` turns them into issues.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import time
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, PlainValidator, Strict
from pydantic_core import PydanticCustomError

from leadflow.adapters.playbook_yaml.issues import NodePath, did_you_mean, one_of
from leadflow.domain.calendar import parse_sla
from leadflow.domain.conditions import Scalar
from leadflow.domain.events import CAPTURE_TYPES, DISCOVERY_ANSWERS, EventType
from leadflow.domain.playbook import Repeat
from leadflow.domain.profile import DERIVED_FIELDS, LEAD_FIELDS, LeadType
from leadflow.domain.purposes import Purpose
from leadflow.domain.reasons import REASON_CODE
from leadflow.domain.stages import Stage

PLAYBOOK_ERROR = "playbook"


def fail(message: str, suggestion: str | None = None, at: NodePath = ()) -> NoReturn:
    """Reject a value with ``message`` (and a fix), at ``at`` below the validated node."""
    raise PydanticCustomError(
        PLAYBOOK_ERROR, "{message}", {"message": message, "suggestion": suggestion, "at": at}
    )


def _text(value: str) -> str:
    if not value.strip():
        fail("must not be empty")
    return value


def _slug(pattern: str, allowed: str, joiner: str) -> Callable[[str], str]:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            fixed = re.sub(r"[^a-z0-9]+", joiner, value.strip().lower()).strip(joiner)
            hint = f"did you mean `{fixed}`?" if fixed and regex.fullmatch(fixed) else None
            fail(f"`{value}` is not valid here: use {allowed}", hint)
        return value

    return check


def _choice(what: str, choices: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(choices)

    def check(value: str) -> str:
        if value not in allowed:
            fail(
                f"`{value}` is not {what}", did_you_mean(value, allowed) or one_of(sorted(allowed))
            )
        return value

    return check


def _non_empty(value: tuple[object, ...]) -> tuple[object, ...]:
    if not value:
        fail("must not be empty")
    return value


NonEmpty = AfterValidator(_non_empty)


def _as_list(value: object) -> object:
    return value if isinstance(value, list) else [value]


def _field_name(value: str) -> str:
    if value in LEAD_FIELDS or value in DERIVED_FIELDS:
        return value
    column = value.removeprefix("custom.")
    if value.startswith("custom.") and column.strip():
        return value
    known = (*LEAD_FIELDS, *DERIVED_FIELDS)
    hint = did_you_mean(value, known) or (
        "use a lead field, a derived field such as `consent.any`, or `custom.<column>`"
    )
    fail(f"`{value}` is not a lead field", hint)


def _scalar(value: object) -> Scalar:
    if isinstance(value, str | bool | int | float):
        return value
    fail("expected a single value (text, number, true or false)")


_POSTAL = re.compile(r"[0-9]+(-[0-9]+)?")


def _postal_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _postal(value: str) -> str:
    if not _POSTAL.fullmatch(value):
        fail(
            f"`{value}` is not a postal prefix or prefix range",
            'write digits like "021" or a range like "010-027", in quotes',
        )
    low, _, high = value.partition("-")
    if high and (len(low) != len(high) or low > high):
        fail(
            f"`{value}` is not a valid range", "both ends need the same number of digits, low first"
        )
    return value


def _sla(value: str) -> str:
    try:
        parse_sla(value)
    except ValueError as exc:
        fail(f"`{value}` is not a duration", str(exc).partition("; ")[2] or str(exc))
    return value


_HOURS = re.compile(r"\s*([0-2][0-9]):([0-5][0-9])\s*-\s*([0-2][0-9]):([0-5][0-9])\s*")


def parse_hours(text: str) -> tuple[time, time]:
    """``"08:00-17:30"`` as ``(time(8), time(17, 30))``; the text must be valid."""
    found = _HOURS.fullmatch(text)
    if found is None:
        raise ValueError(text)
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    closes = time.max if (h2, m2) == (24, 0) else time(h2, m2)
    return time(h1, m1), closes


def _hours(value: str) -> str:
    found = _HOURS.fullmatch(value)
    problem = found is None
    if found is not None:
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        problem = h1 > 23 or (h2, m2) > (24, 0) or (h1, m1) >= (h2, m2)
    if problem:
        fail(
            f"`{value}` is not a span of opening hours",
            'write "HH:MM-HH:MM" in local time, opening before closing, e.g. "08:00-17:00"',
        )
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"`{value}` is not a time zone", "use an IANA name such as America/New_York")
    return value


def _between(value: tuple[float, ...]) -> tuple[float, ...]:
    if len(value) != 2:
        fail("`between` needs exactly two numbers, [low, high]")
    if value[0] > value[1]:
        fail(f"`between` bounds are reversed ({value[0]:g} > {value[1]:g})", "write [low, high]")
    return value


Number = Annotated[float, Strict()]
NonNegative = Annotated[
    float, Strict(), AfterValidator(lambda v: v if v >= 0 else fail("must be ≥ 0"))
]
Positive = Annotated[float, Strict(), AfterValidator(lambda v: v if v > 0 else fail("must be > 0"))]
NonZero = Annotated[
    float,
    Strict(),
    AfterValidator(lambda v: v if v != 0 else fail("must not be 0", "remove the rule instead")),
]
Count = Annotated[int, Strict()]
Text = Annotated[str, AfterValidator(_text)]
PlaybookSlug = Annotated[str, AfterValidator(_slug(r"[a-z0-9-]+", "a-z, 0-9 and `-`", "-"))]
RuleId = Annotated[str, AfterValidator(_slug(r"[a-z0-9_.-]+", "a-z, 0-9, `_`, `.` and `-`", "_"))]
ReasonCode = Annotated[
    str,
    AfterValidator(
        _slug(
            REASON_CODE.pattern,
            "snake_case: a-z, 0-9 and `_`, starting with a letter, at most 64 characters",
            "_",
        )
    ),
]
Name = Annotated[str, AfterValidator(_slug(r"[a-z0-9_-]+", "a-z, 0-9, `_` and `-`", "_"))]
FieldName = Annotated[str, AfterValidator(_field_name)]
ScalarValue = Annotated[Scalar, PlainValidator(_scalar)]
PostalPattern = Annotated[str, BeforeValidator(_postal_text), AfterValidator(_postal)]
Bounds = Annotated[tuple[Number, ...], AfterValidator(_between)]
SlaText = Annotated[str, AfterValidator(_sla)]
HoursText = Annotated[str, AfterValidator(_hours)]
ZoneName = Annotated[str, AfterValidator(_zone)]
EventTypeName = Annotated[
    str, AfterValidator(_choice("an event type", (t.value for t in EventType)))
]
EventTypes = Annotated[tuple[EventTypeName, ...], BeforeValidator(_as_list), NonEmpty]
CaptureName = Annotated[
    str, AfterValidator(_choice("a form capture event", sorted(t.value for t in CAPTURE_TYPES)))
]
CaptureTypes = Annotated[tuple[CaptureName, ...], BeforeValidator(_as_list), NonEmpty]
Categories = Annotated[tuple[Name, ...], BeforeValidator(_as_list), NonEmpty]
StageName = Annotated[str, AfterValidator(_choice("a stage", (s.value for s in Stage)))]
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DayName = Annotated[str, AfterValidator(_choice("a day of the week", DAYS))]
LeadTypeName = Annotated[str, AfterValidator(_choice("a lead type", (t.value for t in LeadType)))]
RepeatName = Annotated[str, AfterValidator(_choice("a repeat mode", (r.value for r in Repeat)))]
DiscoveryAnswer = Annotated[str, AfterValidator(_choice("a discovery answer", DISCOVERY_ANSWERS))]
PurposeName = Annotated[str, AfterValidator(_choice("a clock purpose", (p.value for p in Purpose)))]
