"""Fit and intent scoring: every point comes with the rule and the events behind it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.conditions import evaluate
from leadflow.domain.decision import Reason
from leadflow.domain.events import Event
from leadflow.domain.pages import PageMatcher, PageRule
from leadflow.domain.playbook import (
    EventMatch,
    FitCriterion,
    FrequencyBonus,
    IntentSignal,
    Playbook,
    Repeat,
)

SECONDS_PER_DAY = 86_400.0
_ONCE = Repeat.ONCE


def page_category(event: Event, rules: Sequence[PageRule] | PageMatcher) -> str | None:
    """The event's page category: given directly, else mapped from its URL by ``rules``.

    The engine passes ``Playbook.pages``, the playbook's rules compiled once.
    """
    matcher = rules if isinstance(rules, PageMatcher) else PageMatcher(rules)
    return matcher.category(event)


def event_matches(match: EventMatch, event: Event, category: str | None) -> bool:
    """Whether ``event`` (with its page ``category``) is counted by ``match``."""
    if event.type not in match.types:
        return False
    if match.page_categories is not None and category not in match.page_categories:
        return False
    return not match.properties or all(evaluate(test, event.prop) for test in match.properties)


def decay(points: float, occurred_at: datetime, as_of: datetime, half_life: float | None) -> float:
    """``points`` halved every ``half_life`` days of age; never changes the sign."""
    if not half_life:
        return points
    age_days = max(0.0, (as_of - occurred_at).total_seconds() / SECONDS_PER_DAY)
    factor: float = 0.5 ** (age_days / half_life)
    return points * factor


@dataclass(frozen=True)
class FitResult:
    """The fit score, the criteria that matched, and the must-haves that did not."""

    score: float
    reasons: tuple[Reason, ...]
    unmet_must_haves: tuple[FitCriterion, ...]


def score_fit(criteria: Sequence[FitCriterion], lookup: Callable[[str], object]) -> FitResult:
    """Sum the points of every criterion the profile meets."""
    reasons: list[Reason] = []
    unmet: list[FitCriterion] = []
    for criterion in criteria:
        if evaluate(criterion.condition, lookup):
            reasons.append(Reason(criterion.id, criterion.label, criterion.points))
        elif criterion.must_have:
            unmet.append(criterion)
    score = round(math.fsum(r.points for r in reasons), 2)
    return FitResult(score, tuple(reasons), tuple(unmet))


def _signal_reason(
    signal: IntentSignal, hits: Sequence[Event], as_of: datetime, half_life: float | None
) -> Reason:
    points = signal.points
    if signal.repeat is _ONCE:
        latest = hits[-1]
        total = decay(points, latest.occurred_at, as_of, half_life)
        evidence: tuple[str, ...] = (latest.event_id,)
    else:
        total = math.fsum([decay(points, e.occurred_at, as_of, half_life) for e in hits])
        evidence = tuple([e.event_id for e in hits])
    cap = signal.cap
    if cap is not None:
        total = min(total, cap) if total >= 0 else max(total, -cap)
    count = len(hits)
    label = signal.label if count == 1 else f"{signal.label} (×{count})"
    return Reason(signal.id, label, round(total, 2), evidence)


def _bonus_reason(
    bonus: FrequencyBonus, hits: Sequence[Event], as_of: datetime, half_life: float | None
) -> Reason | None:
    window = bonus.within_days * SECONDS_PER_DAY
    start = 0
    best: tuple[int, int] | None = None
    for end, event in enumerate(hits):
        while (event.occurred_at - hits[start].occurred_at).total_seconds() > window:
            start += 1
        if end - start + 1 >= bonus.at_least:
            best = (start, end)
    if best is None:
        return None
    first, last = best
    points = decay(bonus.points, hits[last].occurred_at, as_of, half_life)
    evidence = tuple(e.event_id for e in hits[first : last + 1])
    return Reason(bonus.id, bonus.label, round(points, 2), evidence)


@dataclass(frozen=True)
class IntentResult:
    """The intent score (never below zero) and the signals behind it."""

    score: float
    reasons: tuple[Reason, ...]


def score_intent(
    playbook: Playbook,
    timeline: Sequence[Event],
    categories: Mapping[str, str | None],
    as_of: datetime,
) -> IntentResult:
    """Score engagement in ``timeline`` (sorted, already cut at ``as_of``)."""
    signals, bonuses = playbook.signals, playbook.bonuses
    matches = [s.match for s in signals] + [b.match for b in bonuses]
    # One pass over the timeline: each event goes to the rules that count its type and
    # whose page-category and property tests it passes, so every rule's hits are in
    # timeline order.
    hits: dict[int, list[Event]] = {}
    index = playbook.intent_rules
    for event in timeline:
        for position in index.get(event.type, ()):
            match = matches[position]
            wanted = match.page_categories
            if wanted is not None and categories.get(event.event_id) not in wanted:
                continue
            tests = match.properties
            if tests and not all(evaluate(test, event.prop) for test in tests):
                continue
            found = hits.get(position)
            if found is None:
                hits[position] = [event]
            else:
                found.append(event)
    reasons: list[Reason] = []
    default = playbook.default_half_life_days
    for position, signal in enumerate(signals):
        found = hits.get(position)
        if found:
            half_life = signal.half_life_days if signal.half_life_days is not None else default
            reasons.append(_signal_reason(signal, found, as_of, half_life))
    for position, bonus in enumerate(bonuses, len(signals)):
        found = hits.get(position)
        half_life = bonus.half_life_days if bonus.half_life_days is not None else default
        reason = _bonus_reason(bonus, found, as_of, half_life) if found else None
        if reason is not None:
            reasons.append(reason)
    score = round(max(0.0, math.fsum(r.points for r in reasons)), 2)
    return IntentResult(score, tuple(reasons))
