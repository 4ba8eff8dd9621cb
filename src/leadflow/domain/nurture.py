"""Nurture, the pure part: which track a lead enters, and what its messages may say.

A lead enters a track when it is in ``nurture`` (below MQL, or recycled from sales); the
first track of its playbook whose entry and service lines match is the one. Messages are
rendered from templates with a few allow-listed profile fields, and early-stage messages
never carry pricing or eligibility claims: the seeds' rule, checked when a playbook is
loaded and again before anything is sent.

Nurture goes by channel: an opt-out (an SMS STOP, an unsubscribe link, a revoked consent)
ends the steps on its own channel only (:func:`opted_out_channels`); an enrollment goes on
while one of its remaining steps has a channel left (:func:`channel_left`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from string import Formatter

from leadflow.domain.events import CHANNELS, Event, EventType
from leadflow.domain.lifecycle import RECYCLED
from leadflow.domain.playbook import NurtureEntry, NurtureTrack, Playbook, Template
from leadflow.domain.stages import Stage

# The profile fields a template may use, as ``{first_name}``; nothing clinical, no contact data.
TEMPLATE_FIELDS = ("first_name", "last_name", "organization", "service_line", "specialty")
# A form confirmation goes to whoever reads the inbox: it names the person, never a care area.
CONFIRMATION_FIELDS = ("first_name", "last_name", "organization")
_OPT_OUTS = frozenset({EventType.UNSUBSCRIBED, EventType.CONSENT_REVOKED})

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


def _opted_out(event: Event) -> frozenset[str]:
    """The channels ``event`` opts the lead out of (none for most events)."""
    if event.type in _OPT_OUTS:
        channel = event.prop("channel")
        return frozenset({str(channel)}) if channel in CHANNELS else CHANNELS  # none named: all
    if event.type is EventType.PROFILE_UPDATED:
        return frozenset(
            channel for channel in CHANNELS if event.prop(f"consent_{channel}") is False
        )
    return frozenset()


def opted_out_channels(events: Iterable[Event], since: datetime) -> frozenset[str]:
    """The channels the lead opted out of at or after ``since``: an ``unsubscribed`` or
    ``consent_revoked`` event opts out of its ``channel`` (of every channel when it names
    none), a ``profile_updated`` event that sets ``consent_email``, ``consent_sms`` or
    ``consent_phone`` to false of that channel. A later grant does not undo it here: the
    opt-out ends that channel's steps for the rest of the enrollment."""
    stopped: set[str] = set()
    for event in events:
        if event.occurred_at >= since:
            stopped |= _opted_out(event)
    return frozenset(stopped)


def channel_left(track: NurtureTrack, from_step: int, stopped: frozenset[str]) -> bool:
    """Whether a step of ``track`` from ``from_step`` on uses a channel not in ``stopped``."""
    return any(step.channel not in stopped for step in track.steps[from_step:])
