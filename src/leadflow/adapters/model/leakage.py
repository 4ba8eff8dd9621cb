"""The leakage guard: a column that alone predicts the outcome almost perfectly is suspect.

Each candidate column gets a tiny single-column model, scored out of fold (stratified 5-fold
cross-validation): the conversion rate of its value in the other folds (numbers are cut into
up to 20 quantile bins first, missing is a value of its own). Whether the column is filled in
is scored the same way. A column with either AUC at or above :data:`LEAK_AUC` is excluded:
at lead entry nothing is that certain, so such a column was almost always filled in after the
outcome was known (a sales tag, a close reason, a "won" date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from leadflow.adapters.model.features import MISSING

#: A single column at or above this cross-validated ROC AUC is excluded as a leak.
LEAK_AUC = 0.90
_BINS = 20
_PRIOR_WEIGHT = 10.0


@dataclass(frozen=True)
class ColumnSignal:
    """How well one column alone predicts the outcome (cross-validated ROC AUC)."""

    column: str
    value_auc: float
    missing_auc: float | None

    def leak_reason(self, threshold: float = LEAK_AUC) -> str | None:
        """Why the column is excluded as a leak, or ``None`` when it is kept."""
        if self.missing_auc is not None and self.missing_auc >= threshold:
            return (
                f"whether it is filled in alone predicts the outcome with AUC "
                f"{self.missing_auc:.2f}: looks filled in after the outcome"
            )
        if self.value_auc >= threshold:
            return (
                f"alone predicts the outcome with AUC {self.value_auc:.2f}: "
                "looks filled in after the outcome"
            )
        return None


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column's values; numbers are binned by quantile first."""
    if values.dtype.kind == "f":
        filled = values.dropna()
        if filled.nunique() > _BINS:
            edges = np.unique(np.quantile(filled, np.linspace(0, 1, _BINS + 1)))
            binned = np.digitize(values.fillna(np.inf), edges[1:-1])
            return np.where(values.isna(), -1, binned)
        return np.asarray(pd.factorize(values.fillna(np.inf))[0])
    return np.asarray(pd.factorize(values.astype(str))[0])


def _out_of_fold_auc(codes: np.ndarray, outcome: np.ndarray, seed: int) -> float:
    """ROC AUC of the out-of-fold, smoothed conversion rate of each code (at least 0.5)."""
    scores = np.zeros(len(outcome), dtype=float)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(codes.reshape(-1, 1), outcome):
        prior = float(outcome[train].mean())
        shifted = codes - min(int(codes.min()), 0)
        size = int(shifted.max()) + 1
        hits = np.bincount(shifted[train], weights=outcome[train], minlength=size)
        counts = np.bincount(shifted[train], minlength=size)
        rate = (hits + _PRIOR_WEIGHT * prior) / (counts + _PRIOR_WEIGHT)
        scores[test] = rate[shifted[test]]
    auc = float(roc_auc_score(outcome, scores))
    return max(auc, 1.0 - auc)


def column_signals(features: pd.DataFrame, outcome: np.ndarray, seed: int) -> list[ColumnSignal]:
    """The single-column signal of every column of ``features`` (see :func:`feature_frame`)."""
    signals = []
    for name in features.columns:
        values = features[name]
        missing = values.isna() if values.dtype.kind == "f" else values.eq(MISSING)
        missing_auc: float | None = None
        if 0 < int(missing.sum()) < len(values):
            missing_auc = _out_of_fold_auc(missing.to_numpy(dtype=int), outcome, seed)
        value_auc = _out_of_fold_auc(_codes(values), outcome, seed)
        signals.append(ColumnSignal(name, value_auc, missing_auc))
    return signals
