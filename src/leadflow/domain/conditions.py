"""The closed set of operators a playbook may use, and how they are evaluated.

Every operator except ``exists: false`` is false when the field is missing: an unknown
value never disqualifies a lead or earns it points.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

Scalar = str | int | float | bool


class Op(StrEnum):
    """Field operators."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    EXISTS = "exists"
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    BETWEEN = "between"
    POSTAL_CODE_IN = "postal_code_in"


_NUMERIC_OPS = frozenset({Op.AT_LEAST, Op.AT_MOST, Op.BETWEEN})


@dataclass(frozen=True)
class FieldTest:
    """``field`` compared with ``values`` by ``op``.

    For ``postal_code_in`` each value is a prefix (``"021"``) or an inclusive prefix range
    (``"010-027"``). For ``between`` the two values are the inclusive bounds.
    """

    field: str
    op: Op
    values: tuple[Scalar, ...]
    # ``values`` as evaluation compares them, worked out once when the test is made: trimmed
    # and case-folded (in order, and as a set) for the equality and membership operators,
    # numbers for the comparisons. Derived data only: not part of equality or repr.
    folded: tuple[object, ...] = dataclasses.field(init=False, repr=False, compare=False)
    folded_set: frozenset[object] = dataclasses.field(init=False, repr=False, compare=False)
    bounds: tuple[float, ...] | None = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = tuple(_norm(v) for v in self.values)
        bounds: tuple[float, ...] | None = None
        if self.op in _NUMERIC_OPS:
            try:
                bounds = tuple(float(v) for v in self.values)
            except (TypeError, ValueError):
                bounds = None  # evaluating the test raises, as it always has
        object.__setattr__(self, "folded", folded)
        object.__setattr__(self, "folded_set", frozenset(folded))
        object.__setattr__(self, "bounds", bounds)


@dataclass(frozen=True)
class AllOf:
    """True when every part is true."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one part is true."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """True when the part is false."""

    part: Condition


Condition = FieldTest | AllOf | AnyOf | Not
Lookup = Callable[[str], object]


def _norm(value: object) -> object:
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def postal_code_matches(code: str, patterns: tuple[Scalar, ...]) -> bool:
    """Whether a postal code starts with one of the prefixes or prefix ranges."""
    digits = code.strip().replace(" ", "").upper()
    for pattern in patterns:
        text = str(pattern)
        if "-" in text:
            low, high = text.split("-", 1)
            head = digits[: len(low)]
            if len(head) == len(low) and low <= head <= high:
                return True
        elif digits.startswith(text.upper()):
            return True
    return False


# The operators as plain module constants: looking a member up on its enum class costs
# several times as much, and ``_compare`` runs for every test of every lead.
_EXISTS, _IN, _NOT_IN = Op.EXISTS, Op.IN, Op.NOT_IN
_EQUALS, _NOT_EQUALS, _POSTAL_CODE_IN = Op.EQUALS, Op.NOT_EQUALS, Op.POSTAL_CODE_IN
_AT_LEAST, _AT_MOST, _BETWEEN = Op.AT_LEAST, Op.AT_MOST, Op.BETWEEN


def _compare(test: FieldTest, value: object) -> bool:
    op = test.op
    if op is _EXISTS:
        return _present(value) == bool(test.values[0])
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return False  # not present
    if isinstance(value, datetime):
        value = value.isoformat()
    if op is _AT_LEAST or op is _AT_MOST or op is _BETWEEN:
        return _compare_number(test, value)
    return _compare_text(test, value)


def _compare_text(test: FieldTest, value: object) -> bool:
    op = test.op
    if op == _IN:
        return _norm(value) in test.folded_set
    if op == _EQUALS:
        return _norm(value) == test.folded[0]
    if op == _NOT_IN:
        return _norm(value) not in test.folded_set
    if op == _NOT_EQUALS:
        return _norm(value) != test.folded[0]
    return postal_code_matches(str(value), test.values)  # _POSTAL_CODE_IN


def _compare_number(test: FieldTest, value: object) -> bool:
    number = _number(value)
    if number is None:
        return False
    bounds = test.bounds
    if bounds is None:
        bounds = tuple(float(v) for v in test.values)
    if test.op is _AT_LEAST:
        return number >= bounds[0]
    if test.op is _AT_MOST:
        return number <= bounds[0]
    return bounds[0] <= number <= bounds[1]


def evaluate(condition: Condition, lookup: Lookup) -> bool:
    """Evaluate ``condition`` with ``lookup`` giving each field's value (or ``None``)."""
    if isinstance(condition, FieldTest):
        return _compare(condition, lookup(condition.field))
    # Plain loops rather than all()/any() over a generator: a third faster on the fit and
    # hard-stop conditions, with the same short-circuit order.
    if isinstance(condition, AllOf):
        for part in condition.parts:  # noqa: SIM110
            if not evaluate(part, lookup):
                return False
        return True
    if isinstance(condition, AnyOf):
        for part in condition.parts:  # noqa: SIM110
            if evaluate(part, lookup):
                return True
        return False
    return not evaluate(condition.part, lookup)


def fields_of(condition: Condition) -> set[str]:
    """Every field a condition reads."""
    match condition:
        case FieldTest():
            return {condition.field}
        case AllOf(parts) | AnyOf(parts):
            return set().union(*(fields_of(p) for p in parts)) if parts else set()
        case Not(part):
            return fields_of(part)


def _show(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe(condition: Condition) -> str:
    """Human-readable text for the definitions document and explanations."""
    match condition:
        case FieldTest(field, op, values):
            shown = ", ".join(_show(v) for v in values)
            words = {
                Op.EQUALS: f"`{field}` is {shown}",
                Op.NOT_EQUALS: f"`{field}` is not {shown}",
                Op.IN: f"`{field}` is one of {shown}",
                Op.NOT_IN: f"`{field}` is known and not one of {shown}",
                Op.EXISTS: f"`{field}` is {'given' if values and values[0] else 'missing'}",
                Op.AT_LEAST: f"`{field}` ≥ {shown}",
                Op.AT_MOST: f"`{field}` ≤ {shown}",
                Op.BETWEEN: f"`{field}` between {' and '.join(_show(v) for v in values)}",
                Op.POSTAL_CODE_IN: f"`{field}` starts with {shown}",
            }
            return words[op]
        case AllOf(parts):
            return " and ".join(
                f"({describe(p)})" if len(parts) > 1 else describe(p) for p in parts
            )
        case AnyOf(parts):
            return " or ".join(f"({describe(p)})" if len(parts) > 1 else describe(p) for p in parts)
        case Not(part):
            return f"not ({describe(part)})"
