"""Reason codes: why sales rejected, disqualified or lost a lead, declared by the playbook.

A reason is a code (``not_ready``) with a label for people ("Not ready yet"), declared per
kind — ``reject`` (the lead goes back to nurture), ``disqualify`` and ``lose`` — so that the
API, the dashboard's lists, hard stops and the reports share one list and one reason is
never counted as two. What a person types is matched to a code case- and
spacing-insensitively (:func:`normalise_reason`: "Not ready" is ``not_ready``).

Recycling has no list of its own: a lead goes back to nurture when sales rejects it (a
``reject`` code) or when discovery finds no active need, which the engine records as
:data:`NO_ACTIVE_NEED` — a default ``reject`` code, so that both count as one reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from leadflow.domain.events import EventType

# snake_case: a letter, then letters, digits and `_`; at most 64 characters.
REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
NO_ACTIVE_NEED = "no_active_need"
_SEPARATORS = re.compile(r"[\s\-]+")


class ReasonKind(StrEnum):
    """What a reason explains: a rejection, a disqualification or a loss."""

    REJECT = "reject"
    DISQUALIFY = "disqualify"
    LOSE = "lose"


# The event that records each kind of reason (its ``reason`` property holds the code).
REASON_EVENTS: Mapping[EventType, ReasonKind] = MappingProxyType(
    {
        EventType.SALES_REJECTED: ReasonKind.REJECT,
        EventType.DISQUALIFIED: ReasonKind.DISQUALIFY,
        EventType.CLOSED_LOST: ReasonKind.LOSE,
    }
)


def normalise_reason(text: str) -> str:
    """``text`` trimmed, case-folded, with runs of spaces and hyphens as one ``_``."""
    return _SEPARATORS.sub("_", text.strip().casefold())


def is_reason_code(text: str) -> bool:
    """Whether ``text`` is written as a reason code (snake_case, at most 64 characters)."""
    return REASON_CODE.fullmatch(text) is not None


@dataclass(frozen=True)
class ReasonCode:
    """One declared reason: the code stored and reported, and its label for people."""

    code: str
    label: str


@dataclass(frozen=True)
class ReasonCatalog:
    """The reasons a playbook declares, per kind, in the order people choose from."""

    reject: tuple[ReasonCode, ...]
    disqualify: tuple[ReasonCode, ...]
    lose: tuple[ReasonCode, ...]

    def of(self, kind: ReasonKind) -> tuple[ReasonCode, ...]:
        """The declared reasons of ``kind``."""
        return {
            ReasonKind.REJECT: self.reject,
            ReasonKind.DISQUALIFY: self.disqualify,
            ReasonKind.LOSE: self.lose,
        }[kind]

    def codes(self, kind: ReasonKind) -> list[str]:
        """The declared codes of ``kind``, in order."""
        return [r.code for r in self.of(kind)]

    def match(self, kind: ReasonKind, text: str) -> ReasonCode | None:
        """The declared reason of ``kind`` that ``text`` names (normalised), if any."""
        wanted = normalise_reason(text)
        return next((r for r in self.of(kind) if r.code == wanted), None)

    def find(self, text: str) -> ReasonCode | None:
        """The declared reason of any kind that ``text`` names (normalised), if any."""
        for kind in ReasonKind:
            found = self.match(kind, text)
            if found is not None:
                return found
        return None


def _reasons(pairs: Iterable[tuple[str, str]]) -> tuple[ReasonCode, ...]:
    return tuple(ReasonCode(code, label) for code, label in pairs)


_TIMING = ("timing_far_out", "Timing is far out")
_DECISION_ROLE = ("not_decision_role", "Not the decision role")
_OTHER = ("other", "Other (say why in the note)")

# The reasons of a playbook that declares none (docs/playbooks.md lists them). The seeds'
# disqualification reasons ("out of geography or outside service scope", "different
# specialty or different problem", "no consent for outreach or invalid contact details",
# "not the decision role", "timing is far out") are among them, and a playbook that leaves
# ``disqualify`` out also gets its hard stops' codes.
DEFAULT_REASONS = ReasonCatalog(
    reject=_reasons(
        (
            (NO_ACTIVE_NEED, "No active need"),
            ("not_ready", "Not ready yet"),
            _TIMING,
            _DECISION_ROLE,
            ("wrong_contact", "Wrong or unreachable contact"),
            ("duplicate", "Duplicate of another lead"),
            _OTHER,
        )
    ),
    disqualify=_reasons(
        (
            ("out_of_coverage_area", "Outside the coverage area"),
            ("outside_service_scope", "Outside the service scope"),
            ("different_problem", "Different specialty or problem than the offer addresses"),
            ("wrong_organization_type", "Wrong organisation type"),
            ("no_valid_contact_no_consent", "No consent for outreach or invalid contact details"),
            _DECISION_ROLE,
            _TIMING,
            _OTHER,
        )
    ),
    lose=_reasons(
        (
            ("chose_competitor", "Chose another provider or vendor"),
            ("no_budget", "No budget"),
            ("no_decision", "No decision made"),
            ("no_response", "Stopped responding"),
            _TIMING,
            _OTHER,
        )
    ),
)
