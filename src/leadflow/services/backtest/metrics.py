"""Per-stage and per-band figures from the replayed tracks.

For a group (a stage or a band): the leads that entered it (their first instant in it),
volume per week, how many of those later reached the outcome (precision), what share of
all outcome leads they caught (recall), lift over the base rate, and the days from entering
the group to the outcome (median and 90th percentile, nearest rank).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow.domain.stages import Stage
from leadflow.services.backtest.replay import MARKETING_STAGES, LeadTrack, Point

WEEK = timedelta(days=7)
_DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class Window:
    """The period the history covers: first event to ``as_of``, in weeks (at least 1)."""

    start: datetime
    end: datetime

    @property
    def weeks(self) -> float:
        """Length in weeks, never below one week (a volume per week needs a week)."""
        return max((self.end - self.start) / WEEK, 1.0)

    def week_of(self, instant: datetime) -> int:
        """0 for the first seven days from ``start``, 1 for the next seven, …"""
        return int((instant - self.start) // WEEK)


@dataclass(frozen=True)
class GroupMetrics:
    """The figures of one stage or band."""

    name: str
    entered: int
    per_week: float
    reached: int
    precision: float | None
    recall: float | None
    lift: float | None
    median_days: float | None
    p90_days: float | None
    weekly: tuple[int, ...] = field(default=(), compare=False)

    def to_record(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "name": self.name,
            "entered": self.entered,
            "volume_per_week": _round(self.per_week),
            "reached_outcome": self.reached,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "lift": _round(self.lift),
            "median_days_to_outcome": _round(self.median_days),
            "p90_days_to_outcome": _round(self.p90_days),
            "weekly": list(self.weekly),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of non-empty ``values`` (``share`` in (0, 1])."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Totals:
    """What every group is measured against."""

    n_leads: int
    n_outcomes: int
    timed: bool
    window: Window

    @property
    def base_rate(self) -> float | None:
        """Share of leads that reached the outcome."""
        return self.n_outcomes / self.n_leads if self.n_leads else None


def group_metrics(
    name: str, entries: Sequence[tuple[datetime, LeadTrack]], totals: Totals
) -> GroupMetrics:
    """Figures for the leads that entered a group, each with its first instant in it."""
    entered = len(entries)
    days = [
        (track.outcome.at - at).total_seconds() / _DAY_SECONDS
        for at, track in entries
        if track.outcome is not None
    ]
    reached = len(days)
    precision = reached / entered if entered else None
    recall = reached / totals.n_outcomes if totals.n_outcomes else None
    base = totals.base_rate
    lift = precision / base if precision is not None and base else None
    timed = totals.timed and bool(days)
    weeks = math.ceil(totals.window.weeks)
    # An entry at the very end of a whole number of weeks belongs to the last week.
    counts = Counter(min(totals.window.week_of(at), weeks - 1) for at, _ in entries)
    return GroupMetrics(
        name=name,
        entered=entered,
        per_week=entered / totals.window.weeks,
        reached=reached,
        precision=precision,
        recall=recall,
        lift=lift,
        median_days=statistics.median(days) if timed else None,
        p90_days=nearest_rank(days, 0.9) if timed else None,
        weekly=tuple(counts.get(week, 0) for week in range(weeks)),
    )


def first_entries(
    tracks: Sequence[LeadTrack], key: Callable[[Point], str]
) -> dict[str, list[tuple[datetime, LeadTrack]]]:
    """For each value of ``key``, the leads that had it and their first instant with it."""
    found: dict[str, list[tuple[datetime, LeadTrack]]] = {}
    for track in tracks:
        seen: set[str] = set()
        for point in track.points:
            name = key(point)
            if name not in seen:
                seen.add(name)
                found.setdefault(name, []).append((point.at, track))
    return found


def stage_metrics(
    tracks: Sequence[LeadTrack], totals: Totals, fit_at_least: float, intent_at_least: float
) -> list[GroupMetrics]:
    """The marketing stages under the given MQL thresholds."""
    found = first_entries(tracks, lambda p: p.stage(fit_at_least, intent_at_least).value)
    return [group_metrics(s.value, found.get(s.value, []), totals) for s in MARKETING_STAGES]


def mql_metrics(
    tracks: Sequence[LeadTrack], totals: Totals, fit_at_least: float, intent_at_least: float
) -> GroupMetrics:
    """The ``mql`` stage alone (what a sweep evaluates per combination)."""
    entries = []
    for track in tracks:
        for point in track.points:
            if point.stage(fit_at_least, intent_at_least) is Stage.MQL:
                entries.append((point.at, track))
                break
    return group_metrics(Stage.MQL.value, entries, totals)


def band_metrics(
    tracks: Sequence[LeadTrack], totals: Totals, bands: Sequence[str]
) -> list[GroupMetrics]:
    """The playbook's bands, in playbook order (a band's thresholds do not change here)."""
    found = first_entries(tracks, lambda p: p.band)
    return [group_metrics(name, found.get(name, []), totals) for name in bands]
