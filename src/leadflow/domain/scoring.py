"""Fit and intent scoring: every point comes with the rule and the events behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from leadflow.domain.conditions import evaluate
from leadflow.domain.decision import Reason
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import (
    EventMatch,
    FitCriterion,
    FrequencyBonus,
    IntentSignal,
    PageRule,
    Playbook,
    Repeat,
)

SECONDS_PER_DAY = 86_400.0


def page_category(event: Event, rules: Sequence[PageRule]) -> str | None:
    """The event's page category: given directly, else mapped from its URL."""
    given = event.prop("page_category")
    if isinstance(given, str) and given.strip():
        return given.strip().casefold()
    url = event.prop("url")
    if isinstance(url, str) and url:
        path = (urlsplit(url).path or url).casefold()
        for rule in rules:
            if fnmatchcase(path, rule.pattern.casefold()):
                return rule.category
    return None


def event_matches(match: EventMatch, event: Event, category: str | None) -> bool:
    """Whether ``event`` (with its page ``category``) is counted by ``match``."""
    if event.type not in match.types:
        return False
    if match.page_categories is not None and category not in match.page_categories:
        return False
    return all(evaluate(test, event.prop) for test in match.properties)


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
    score = round(sum(r.points for r in reasons), 2)
    return FitResult(score, tuple(reasons), tuple(unmet))


def _signal_reason(
    signal: IntentSignal, hits: Sequence[Event], as_of: datetime, half_life: float | None
) -> Reason:
    if signal.repeat is Repeat.ONCE:
        latest = hits[-1]
        total = decay(signal.points, latest.occurred_at, as_of, half_life)
        evidence: tuple[str, ...] = (latest.event_id,)
    else:
        total = sum(decay(signal.points, e.occurred_at, as_of, half_life) for e in hits)
        evidence = tuple(e.event_id for e in hits)
    if signal.cap is not None:
        total = min(total, signal.cap) if total >= 0 else max(total, -signal.cap)
    label = signal.label if len(hits) == 1 else f"{signal.label} (×{len(hits)})"
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
    reasons: list[Reason] = []
    default = playbook.default_half_life_days
    by_type: dict[EventType, list[Event]] = {}
    for event in timeline:
        by_type.setdefault(event.type, []).append(event)

    def hits_for(match: EventMatch) -> list[Event]:
        pool = [e for t in match.types for e in by_type.get(t, ())]
        if len(match.types) > 1:
            pool.sort(key=Event.sort_key)
        return [e for e in pool if event_matches(match, e, categories.get(e.event_id))]

    for signal in playbook.signals:
        hits = hits_for(signal.match)
        if hits:
            half_life = signal.half_life_days if signal.half_life_days is not None else default
            reasons.append(_signal_reason(signal, hits, as_of, half_life))
    for bonus in playbook.bonuses:
        hits = hits_for(bonus.match)
        half_life = bonus.half_life_days if bonus.half_life_days is not None else default
        reason = _bonus_reason(bonus, hits, as_of, half_life) if hits else None
        if reason is not None:
            reasons.append(reason)
    score = round(max(0.0, sum(r.points for r in reasons)), 2)
    return IntentResult(score, tuple(reasons))
