"""How good a model's scores are: ROC AUC, the balanced cut-off, top-k conversion, calibration.

The balanced cut-off is the score at which sensitivity and specificity are closest (ties go
to the higher Youden's J); it is read off the evaluation scores themselves, as published
lead-scoring studies do, so its sensitivity and specificity are slightly optimistic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

TOP_SHARES = (0.10, 0.20, 0.30)


@dataclass(frozen=True)
class Metrics:
    """Figures of one set of held-out scores against the true outcomes."""

    roc_auc: float
    cutoff: float
    sensitivity: float
    specificity: float
    precision: float
    recall: float
    top10_conversion: float
    top20_conversion: float
    top30_conversion: float
    base_rate: float
    n_evaluated: int

    def as_dict(self) -> dict[str, float | int]:
        """Rounded to 4 decimals for reports."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _top_conversion(scores: np.ndarray, outcome: np.ndarray, share: float) -> float:
    """Conversion rate among the ``share`` best-scored leads (stable order on ties)."""
    count = max(1, round(share * len(scores)))
    order = np.argsort(-scores, kind="stable")
    return float(outcome[order[:count]].mean())


def balanced_cutoff(scores: np.ndarray, outcome: np.ndarray) -> float:
    """The score where sensitivity ≈ specificity (ties: the higher Youden's J)."""
    false_pos, true_pos, thresholds = roc_curve(outcome, scores)
    finite = np.isfinite(thresholds)
    gap = np.abs(true_pos - (1.0 - false_pos))[finite]
    youden = (true_pos - false_pos)[finite]
    best = np.lexsort((-youden, gap))[0]
    return float(thresholds[finite][best])


def score_metrics(scores: np.ndarray, outcome: np.ndarray) -> Metrics:
    """Every figure of the held-out ``scores``."""
    cutoff = balanced_cutoff(scores, outcome)
    flagged = scores >= cutoff
    positives = outcome == 1
    true_pos = int((flagged & positives).sum())
    sensitivity = true_pos / max(1, int(positives.sum()))
    specificity = int((~flagged & ~positives).sum()) / max(1, int((~positives).sum()))
    precision = true_pos / max(1, int(flagged.sum()))
    top = [_top_conversion(scores, outcome, s) for s in TOP_SHARES]
    return Metrics(
        roc_auc=float(roc_auc_score(outcome, scores)),
        cutoff=cutoff,
        sensitivity=sensitivity,
        specificity=specificity,
        precision=precision,
        recall=sensitivity,
        top10_conversion=top[0],
        top20_conversion=top[1],
        top30_conversion=top[2],
        base_rate=float(outcome.mean()),
        n_evaluated=len(outcome),
    )


def reliability_plot(scores: np.ndarray, outcome: np.ndarray, path: Path, title: str) -> None:
    """Predicted against observed conversion in ten score bins, as a PNG."""
    edges = np.linspace(0.0, 1.0, 11)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, 9)
    predicted, observed, sizes = [], [], []
    for index in range(10):
        members = which == index
        if members.any():
            predicted.append(float(scores[members].mean()))
            observed.append(float(outcome[members].mean()))
            sizes.append(int(members.sum()))
    figure, axes = plt.subplots(figsize=(5, 5))
    try:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        axes.plot(predicted, observed, marker="o", label="model")
        for x, y, n in zip(predicted, observed, sizes, strict=True):
            axes.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), size=7)
        axes.set(xlabel="predicted conversion", ylabel="observed conversion", title=title)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.legend(loc="upper left")
        figure.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(figure)
