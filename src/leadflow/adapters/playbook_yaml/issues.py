"""A problem found while loading a playbook, before it is placed in its source file."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

NodePath = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass(frozen=True)
class Issue:
    """Something wrong at ``path`` (keys and list indexes from the document root).

    The loader places the issue at the node ``node`` (default: ``path``), or at
    ``position`` (1-based line and column) when the problem is not at a node, such as a
    YAML syntax error.
    """

    path: NodePath
    message: str
    suggestion: str | None = None
    node: NodePath | None = None
    position: Position | None = None


def dotted(path: NodePath) -> str:
    """``("intent", "signals", 2, "points")`` as ``intent.signals[2].points``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def close_match(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word``, if any is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """``did you mean `x`?`` for the closest choice, or ``None``."""
    match = close_match(word, choices, cutoff)
    return f"did you mean `{match}`?" if match else None


def one_of(choices: Iterable[str]) -> str:
    """``expected one of `a`, `b`, `c``` for a suggestion."""
    return "expected one of " + ", ".join(f"`{c}`" for c in choices)
