"""``--sweep mql.fit=A:B:S,mql.intent=C:D:S`` and ``--capacity N/week``.

Every combination is applied to the one replay (scores do not depend on the thresholds),
so a sweep costs one replay plus a cheap pass over the recorded points per combination.
The recommendation is the combination with the best MQL precision among those whose MQL
volume per week is within the capacity; ties go to the higher recall, then to the higher
volume, then to the lower thresholds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.errors import BacktestInputError
from leadflow.services.backtest.metrics import GroupMetrics, Totals, mql_metrics
from leadflow.services.backtest.replay import LeadTrack

MAX_COMBINATIONS = 10_000
_KEYS = ("mql.fit", "mql.intent")
_CAPACITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(?:week|wk|w))?\s*$", re.IGNORECASE)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BacktestInputError(f"--sweep {where}: `{text}` is not a number") from None
    if not math.isfinite(value):
        raise BacktestInputError(f"--sweep {where}: `{text}` is not a finite number")
    return value


def _steps(key: str, spec: str) -> tuple[float, ...]:
    parts = spec.split(":")
    if len(parts) != 3:
        raise BacktestInputError(f"--sweep {key}: expected START:STOP:STEP, e.g. 20:60:5")
    start, stop, step = (_number(p.strip(), key) for p in parts)
    if step <= 0:
        raise BacktestInputError(f"--sweep {key}: STEP must be above 0")
    if stop < start:
        raise BacktestInputError(f"--sweep {key}: STOP must not be below START")
    count = int((stop - start) / step + 1e-9) + 1
    if count > MAX_COMBINATIONS:
        raise BacktestInputError(f"--sweep {key}: {count} values, at most {MAX_COMBINATIONS}")
    return tuple(round(start + i * step, 9) for i in range(count))


def parse_sweep(text: str) -> dict[str, tuple[float, ...]]:
    """``{"mql.fit": (20, 25, …), "mql.intent": (…)}``; a key left out keeps the playbook's."""
    ranges: dict[str, tuple[float, ...]] = {}
    for item in (p.strip() for p in text.split(",")):
        key, sep, spec = item.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise BacktestInputError(
                f"--sweep: expected mql.fit=A:B:S and/or mql.intent=C:D:S, got `{item}`"
            )
        if key in ranges:
            raise BacktestInputError(f"--sweep: {key} given twice")
        ranges[key] = _steps(key, spec)
    total = len(ranges.get("mql.fit", (0,))) * len(ranges.get("mql.intent", (0,)))
    if total > MAX_COMBINATIONS:
        raise BacktestInputError(f"--sweep: {total} combinations, at most {MAX_COMBINATIONS}")
    return ranges


def parse_capacity(text: str) -> float:
    """``40/week`` (or ``40``): MQLs per week that sales can work."""
    match = _CAPACITY.match(text)
    if match is None:
        raise BacktestInputError(f"--capacity: expected N/week, e.g. 40/week, got `{text}`")
    return float(match.group(1))


def swept_playbook(playbook: Playbook, fit_at_least: float, intent_at_least: float) -> Playbook:
    """``playbook`` with other MQL thresholds; its version names them."""
    gate = replace(playbook.mql, fit_at_least=fit_at_least, intent_at_least=intent_at_least)
    label = f"fit={fit_at_least:g},intent={intent_at_least:g}"
    return replace(playbook, mql=gate, version=f"{playbook.version}+sweep({label})")


@dataclass(frozen=True)
class Trial:
    """One combination of thresholds and its MQL figures."""

    fit_at_least: float
    intent_at_least: float
    version: str
    mql: GroupMetrics

    def to_record(self) -> dict[str, object]:
        """JSON-ready."""
        figures = self.mql.to_record()
        return {
            "fit_at_least": self.fit_at_least,
            "intent_at_least": self.intent_at_least,
            "playbook_version": self.version,
            "mql_entered": figures["entered"],
            "volume_per_week": figures["volume_per_week"],
            "precision": figures["precision"],
            "recall": figures["recall"],
            "lift": figures["lift"],
        }


@dataclass(frozen=True)
class Sweep:
    """Every trial, the capacity and the recommended trial (``None``: none fits).

    ``fast_tracked`` counts the leads a fast track makes MQL at some instant: no threshold
    changes them, so they bound how far a sweep can cut the MQL volume.
    """

    grid: tuple[Trial, ...]
    capacity: float | None
    recommended: Trial | None
    fast_tracked: int = 0


def _rank(trial: Trial) -> tuple[float, float, float, float, float]:
    m = trial.mql
    return (m.precision or 0.0, m.recall or 0.0, m.per_week, -trial.fit_at_least,
            -trial.intent_at_least)  # fmt: skip


def recommend(grid: Sequence[Trial], capacity: float | None) -> Trial | None:
    """The best precision within ``capacity`` (ties: recall, volume, lower thresholds)."""
    if capacity is None:
        return None
    fits = [t for t in grid if t.mql.precision is not None and t.mql.per_week <= capacity]
    return max(fits, key=_rank, default=None)


def run_sweep(
    tracks: Sequence[LeadTrack],
    totals: Totals,
    playbook: Playbook,
    ranges: dict[str, tuple[float, ...]],
    capacity: float | None,
) -> Sweep:
    """Apply every combination of ``ranges`` to the replayed ``tracks``."""
    fits = ranges.get("mql.fit", (playbook.mql.fit_at_least,))
    intents = ranges.get("mql.intent", (playbook.mql.intent_at_least,))
    grid = []
    for fit in fits:
        for intent in intents:
            version = swept_playbook(playbook, fit, intent).version
            grid.append(Trial(fit, intent, version, mql_metrics(tracks, totals, fit, intent)))
    fast = sum(1 for t in tracks if any(p.base is Stage.MQL for p in t.points))
    return Sweep(tuple(grid), capacity, recommend(grid, capacity), fast)
