"""A small, safe JSON path syntax for webhook source mappings.

A path starts at the payload's root ``$`` and walks down one step at a time:

- ``.name``: a key made of letters, digits, ``_`` and ``-`` (``$.payload.object``);
- ``['any key']`` or ``["any key"]``: any key, for keys with dots or spaces (``$['1.3']``);
- ``[0]``, ``[-1]``: an item of a list, counted from the start or the end;
- ``[?(@.field.ref == 'email')]``: the first item of a list whose sub-path equals a quoted
  text, a number, ``true``, ``false`` or ``null``.

A path selects one value or nothing: there are no wildcards, slices, recursion, functions or
expressions, and nothing in a path is ever executed. Parsing errors name the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[(-?[0-9]+)\]")
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""")
_FILTER = re.compile(r"""\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*(.+?)\s*\)\]""")
_LITERALS: Final = {"true": True, "false": False, "null": None}


class JsonPathError(ValueError):
    """A path that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (at column {column})")
        self.column = column


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    position: int


@dataclass(frozen=True)
class Match:
    """The first list item whose ``at`` sub-path holds ``equals``."""

    at: tuple[str, ...]
    equals: object


Step = Key | Index | Match


@dataclass(frozen=True)
class JsonPath:
    """A parsed path; ``text`` is how it was written (used in error messages)."""

    text: str
    steps: tuple[Step, ...]

    def find(self, document: object) -> Any:
        """The value the path selects in ``document``, or :data:`MISSING`."""
        node: object = document
        for step in self.steps:
            node = _step(node, step)
            if node is MISSING:
                return MISSING
        return node

    def __str__(self) -> str:
        return self.text


def _literal(text: str, column: int) -> object:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return _unescape(text[1:-1])
    if text in _LITERALS:
        return _LITERALS[text]
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise JsonPathError(
            "a filter compares with a quoted text, a number, true, false or null", column
        ) from None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _next_step(text: str, at: int) -> tuple[Step, int]:
    """The step starting at ``at`` and where the next one starts."""
    if text.startswith(".", at):
        name = _NAME.match(text, at + 1)
        if name is None:
            raise JsonPathError("expected a key name after `.`", at + 2)
        return Key(name.group()), name.end()
    for pattern in (_INDEX, _QUOTED, _FILTER):
        found = pattern.match(text, at)
        if found is None:
            continue
        if pattern is _INDEX:
            return Index(int(found.group(1))), found.end()
        if pattern is _QUOTED:
            raw = found.group(1) if found.group(1) is not None else found.group(2)
            return Key(_unescape(raw)), found.end()
        sub = tuple(found.group(1).split(".")[1:])
        return Match(sub, _literal(found.group(2), found.start(2) + 1)), found.end()
    raise JsonPathError("expected `.name`, `['name']`, `[0]` or `[?(@.key == 'value')]`", at + 1)


def parse_path(text: str) -> JsonPath:
    """Parse ``text`` (``$``, then steps) or raise :class:`JsonPathError`."""
    if not text.startswith("$"):
        raise JsonPathError("a path starts with `$` (the payload's root)", 1)
    steps: list[Step] = []
    at = 1
    while at < len(text):
        step, at = _next_step(text, at)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def _step(node: object, step: Step) -> object:
    if isinstance(step, Key):
        return node.get(step.name, MISSING) if isinstance(node, dict) else MISSING
    if not isinstance(node, list):
        return MISSING
    if isinstance(step, Index):
        size = len(node)
        return node[step.position] if -size <= step.position < size else MISSING
    for item in node:
        value: object = item
        for name in step.at:
            value = value.get(name, MISSING) if isinstance(value, dict) else MISSING
        if value is not MISSING and json_equal(value, step.equals):
            return item
    return MISSING


def json_equal(value: object, wanted: object) -> bool:
    """JSON equality: ``1`` is not ``true``; ``1`` and ``1.0`` are equal."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return type(value) is type(wanted) and value == wanted
    return value == wanted
