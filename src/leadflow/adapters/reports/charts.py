"""PNG charts of a backtest, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from leadflow.services.backtest.metrics import GroupMetrics
from leadflow.services.backtest.sweep import Sweep

_SIZE = (7.0, 3.6)


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)


def volume_chart(mql: GroupMetrics, path: Path) -> None:
    """Leads entering MQL per week of the history."""
    figure, axes = plt.subplots(figsize=_SIZE)
    weeks = list(range(1, len(mql.weekly) + 1))
    axes.bar(weeks, list(mql.weekly), color="#3b6ea5")
    axes.set_xlabel("week of the history")
    axes.set_ylabel("new MQLs")
    axes.set_title("MQL volume per week")
    _save(figure, path)


def band_chart(bands: Sequence[GroupMetrics], path: Path) -> None:
    """Precision and recall of each band, side by side."""
    figure, axes = plt.subplots(figsize=_SIZE)
    names = [b.name for b in bands]
    positions = list(range(len(names)))
    width = 0.38
    precision = [b.precision or 0.0 for b in bands]
    recall = [b.recall or 0.0 for b in bands]
    axes.bar([p - width / 2 for p in positions], precision, width, label="precision")
    axes.bar([p + width / 2 for p in positions], recall, width, label="recall")
    axes.set_xticks(positions, names)
    axes.set_ylim(0, 1)
    axes.set_ylabel("share")
    axes.set_title("Precision and recall per band")
    axes.legend()
    _save(figure, path)


def sweep_chart(sweep: Sweep, path: Path) -> None:
    """Precision against MQL volume per week for every combination, with the capacity."""
    figure, axes = plt.subplots(figsize=_SIZE)
    volume = [t.mql.per_week for t in sweep.grid]
    precision = [t.mql.precision or 0.0 for t in sweep.grid]
    axes.scatter(volume, precision, color="#3b6ea5", label="threshold pair")
    best = sweep.recommended
    if best is not None:
        axes.scatter(
            [best.mql.per_week],
            [best.mql.precision or 0.0],
            color="#c0392b",
            s=90,
            label=f"recommended (fit {best.fit_at_least:g}, intent {best.intent_at_least:g})",
        )
    if sweep.capacity is not None:
        axes.axvline(sweep.capacity, color="#555555", linestyle="--", label="capacity")
    axes.set_xlabel("MQLs per week")
    axes.set_ylabel("precision")
    axes.set_ylim(0, 1.05)
    axes.set_title("Threshold sweep: precision vs volume")
    axes.legend(loc="lower left", fontsize="small")
    _save(figure, path)
