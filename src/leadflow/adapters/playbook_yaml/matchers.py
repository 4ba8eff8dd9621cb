"""Conditions and event matches of the playbook language, as pydantic models.

A condition is a field test ``{field, OP: value}`` with exactly one operator, or ``all``,
``any`` or ``not`` of conditions; an event match names event types, page categories and
property tests. Every model forbids unknown keys and is frozen.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadflow.adapters.playbook_yaml.issues import close_match
from leadflow.adapters.playbook_yaml.values import (
    Bounds,
    Categories,
    EventTypes,
    FieldName,
    NonEmpty,
    Number,
    PostalPattern,
    ScalarValue,
    fail,
)
from leadflow.domain.conditions import Op, Scalar
from leadflow.domain.events import EVENT_PROPERTIES, EventType, check_property, known_property

OPERATORS: tuple[str, ...] = tuple(op.value for op in Op)
# Python attribute name of each operator (``in`` is a keyword, hence ``in_``).
OP_ATTRIBUTES: dict[str, str] = {op: "in_" if op == "in" else op for op in OPERATORS}
OP_ALIASES: dict[Op, str] = {op: op.value for op in Op}
_VALUE_OPS = frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN})


class Model(BaseModel):
    """Base of every playbook model: unknown keys are errors; values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Operators(Model):
    """The closed set of operators; a test uses exactly one."""

    equals: ScalarValue | None = None
    not_equals: ScalarValue | None = None
    in_: Annotated[tuple[ScalarValue, ...], NonEmpty] | None = Field(default=None, alias="in")
    not_in: Annotated[tuple[ScalarValue, ...], NonEmpty] | None = None
    exists: bool | None = None
    at_least: Number | None = None
    at_most: Number | None = None
    between: Bounds | None = None
    postal_code_in: Annotated[tuple[PostalPattern, ...], NonEmpty] | None = None

    def operator(self, subject: str) -> tuple[Op, tuple[Scalar, ...]]:
        """The one operator given and its values; rejects none, several, or a null value."""
        given = [op for op in OPERATORS if OP_ATTRIBUTES[op] in self.model_fields_set]
        if not given:
            fail(f"{subject} has no operator", "add one of: " + ", ".join(OPERATORS))
        if len(given) > 1:
            fail(
                f"{subject} has {len(given)} operators ({', '.join(given)}); use exactly one",
                "use `between` for a range, or combine tests with `all`",
            )
        value: object = getattr(self, OP_ATTRIBUTES[given[0]])
        if value is None:
            fail(f"`{given[0]}` needs a value")
        items = value if isinstance(value, tuple) else (value,)
        return Op(given[0]), tuple(_scalar(item) for item in items)


def _scalar(value: object) -> Scalar:
    """A validated operator value; whole numbers as ints so explanations read ``60``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(value)  # unreachable: the schema admits scalars only


class Condition(Operators):
    """A field test ``{field, OP: value}``, or ``all`` / ``any`` / ``not`` of conditions."""

    field: FieldName | None = None
    all_: Annotated[tuple[Condition, ...], NonEmpty] | None = Field(default=None, alias="all")
    any_: Annotated[tuple[Condition, ...], NonEmpty] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        given = self.model_fields_set
        groups = given & {"all_", "any_", "not_"}
        if groups:
            if len(groups) > 1 or given - groups:
                fail(
                    "`all`, `any` and `not` must each stand alone in a condition",
                    "nest the other tests inside `all`",
                )
            attribute = next(iter(groups))
            if getattr(self, attribute) is None:
                fail(f"`{attribute.rstrip('_')}` needs a condition, not null")
            return self
        if self.field is None:
            fail(
                "a condition needs `field` and one operator, or `all`, `any` or `not`",
                "e.g. {field: state, in: [MA, NH]}",
            )
        self.operator(f"the test on `{self.field}`")
        return self


class PropertyTest(Operators):
    """A test on one event property: ``{OP: value}``."""

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        self.operator("the property test")
        return self


class EventMatch(Model):
    """Which events count: types, optional page categories and property tests."""

    type: EventTypes
    page_category: Categories | None = None
    properties: dict[str, PropertyTest] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_properties(self) -> Self:
        types = [EventType(t) for t in self.type]
        for name, test in self.properties.items():
            specs = [s for t in types if (s := known_property(t, name)) is not None]
            if not specs:
                names = {s.name for t in types for s in EVENT_PROPERTIES[t]}
                near = close_match(name, names, cutoff=0.75)
                if near is not None:
                    fail(
                        f"`{name}` is not a property of {', '.join(self.type)}",
                        f"did you mean `{near}`?",
                        at=("properties", name),
                    )
                continue
            op, values = test.operator("the property test")
            if op in _VALUE_OPS:
                for spec, item in ((spec, item) for spec in specs for item in values):
                    problem = check_property(spec, item)
                    if problem is not None:
                        at = ("properties", name, OP_ALIASES[op])
                        fail(f"property `{name}`: {problem}", at=at)
        return self
