"""Nurture, the pure part: which track a lead enters, and what its messages may say.

A lead enters a track when it is in ``nurture`` (below MQL, or recycled from sales); the
first track of its playbook whose entry and service lines match is the one. Messages are
rendered from templates with a few allow-listed profile fields, and early-stage messages
never carry pricing or eligibility claims: the seeds' rule, checked when a playbook is
loaded and again before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter

from leadflow.domain.lifecycle import RECYCLED
from leadflow.domain.playbook import NurtureEntry, NurtureTrack, Playbook, Template
from leadflow.domain.stages import Stage

# The profile fields a template may use, as ``{first_name}``; nothing clinical, no contact data.
TEMPLATE_FIELDS = ("first_name", "last_name", "organization", "service_line", "specialty")

_CLAIMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "pricing",
        re.compile(
            r"\$\s?\d[\d,.]*|€\s?\d[\d,.]*|\b(prices?|pricing|priced|costs?|fees?|discounts?|copays?|"
            r"deductibles?|per month|per visit|affordable|cheap(er|est)?|free of charge)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "eligibility",
        re.compile(
            r"\b(eligible|eligibility|you qualify|qualif(y|ies|ied) for|covered by|"
            r"coverage|insurance (accepted|covers)|approved for|guaranteed?)\b",
            re.IGNORECASE,
        ),
    ),
)


@dataclass(frozen=True)
class Claim:
    """A pricing or eligibility claim found in a template's text."""

    kind: str  # "pricing" | "eligibility"
    text: str


def claims_in(text: str) -> list[Claim]:
    """The pricing and eligibility claims in ``text``, in order of kind then position."""
    return [
        Claim(kind, found.group(0)) for kind, pattern in _CLAIMS for found in pattern.finditer(text)
    ]


def template_claims(template: Template) -> list[Claim]:
    return claims_in(" ".join(filter(None, (template.subject, template.body))))


def placeholders(text: str) -> list[str]:
    """The ``{name}`` fields ``text`` uses (a ``{{`` is a literal brace)."""
    return [name for _, name, _, _ in Formatter().parse(text) if name is not None]


def render(text: str, fields: Mapping[str, str | None]) -> str:
    """``text`` with each allow-listed ``{field}`` filled ("" when the lead lacks it)."""
    values = {name: fields.get(name) or "" for name in TEMPLATE_FIELDS}
    return text.format_map(values)


def entry_of(stage: Stage, status: str) -> NurtureEntry | None:
    """How a lead in ``stage`` with ``status`` enters nurture, or ``None`` when it does not."""
    if stage is not Stage.NURTURE:
        return None
    return NurtureEntry.RECYCLED if status == RECYCLED else NurtureEntry.BELOW_MQL


def track_for(
    playbook: Playbook, stage: Stage, status: str, service_line: str | None
) -> NurtureTrack | None:
    """The first track of ``playbook`` a lead in ``stage``/``status`` enters, if any."""
    entry = entry_of(stage, status)
    if entry is None:
        return None
    for track in playbook.tracks:
        if entry not in track.entry:
            continue
        if track.service_lines is not None and service_line not in track.service_lines:
            continue
        return track
    return None
