"""Training a calibrated conversion model from any CRM export, and evaluating it honestly.

Evaluation: with a time column, train on the earliest 80 % of rows and test on the latest
20 % (``time_holdout``); otherwise stratified 5-fold cross-validation with out-of-fold
scores (``cv5``). The candidate model (logistic regression or gradient boosting) is chosen
inside each training part on an inner split, never on the rows it is then tested on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from leadflow.adapters.model.candidates import CANDIDATES, build, calibrated, one_thread
from leadflow.adapters.model.evaluate import Metrics, score_metrics
from leadflow.adapters.model.features import MISSING, feature_frame
from leadflow.adapters.model.frame import binary_outcome, read_table
from leadflow.adapters.model.leakage import LEAK_AUC, ColumnSignal, column_signals
from leadflow.adapters.model.roles import ColumnPlan, ModelMapping, plan_columns
from leadflow.errors import ModelDataError

HOLDOUT_SHARE = 0.2
_MIN_PER_CLASS = 10


@dataclass(frozen=True)
class TrainOptions:
    """What ``leadflow model train`` was asked to do."""

    outcome: str
    time_column: str | None = None
    mapping: ModelMapping = field(default_factory=ModelMapping)
    entry_time_only: bool = False
    keep_leaky: bool = False
    seed: int = 0
    leak_auc: float = LEAK_AUC


@dataclass(frozen=True)
class FittedModel:
    """A calibrated model and what it needs to score and explain new leads."""

    estimator: Any
    name: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    baseline: dict[str, object]


@dataclass(frozen=True)
class TrainResult:
    """The fitted model, its held-out evaluation and every column decision."""

    model: FittedModel
    metrics: Metrics
    evaluation: str
    n_rows: int
    plan: ColumnPlan
    signals: tuple[ColumnSignal, ...]
    choices: tuple[str, ...]
    scores: np.ndarray
    outcome: np.ndarray

    def summary(self) -> dict[str, Any]:
        """The JSON summary of a training run."""
        return {
            **self.metrics.as_dict(),
            "n_rows": self.n_rows,
            "evaluation": self.evaluation,
            "model": self.model.name,
            "fold_choices": list(self.choices),
            "used_columns": list(self.plan.used),
            "excluded_columns": dict(self.plan.excluded),
        }


def _choose(features: pd.DataFrame, outcome: np.ndarray, plan: ColumnPlan, seed: int) -> str:
    """The candidate with the best ROC AUC on an inner 25 % split of these rows."""
    inner_train, inner_test = train_test_split(
        np.arange(len(outcome)), test_size=0.25, stratify=outcome, random_state=seed
    )
    best, best_auc = CANDIDATES[0], -1.0
    for name in CANDIDATES:
        model = build(name, plan.numeric, plan.categorical, seed)
        model.fit(features.iloc[inner_train], outcome[inner_train])
        scores = model.predict_proba(features.iloc[inner_test])[:, 1]
        auc = float(roc_auc_score(outcome[inner_test], scores))
        if auc > best_auc:
            best, best_auc = name, auc
    return best


def _fit(
    features: pd.DataFrame, outcome: np.ndarray, plan: ColumnPlan, seed: int
) -> tuple[str, Any]:
    """The chosen candidate's name and its calibrated fit on these rows."""
    name = _choose(features, outcome, plan, seed)
    model = calibrated(name, plan.numeric, plan.categorical, seed)
    model.fit(features, outcome)
    return name, model


def _time_order(table: pd.DataFrame, column: str, source: str) -> np.ndarray:
    if column not in table.columns:
        raise ModelDataError(f"{source}: no time column `{column}`")
    text = table[column].astype(object).where(table[column].notna(), None)
    moments = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    if moments.isna().all():
        raise ModelDataError(f"{source}: time column `{column}` has no readable date-time")
    # Rows without a readable time go first, so they are only ever trained on.
    keys = moments.fillna(pd.Timestamp.min.tz_localize("UTC"))
    return np.argsort(keys.to_numpy(), kind="stable")


def _evaluate(
    features: pd.DataFrame,
    outcome: np.ndarray,
    plan: ColumnPlan,
    order: np.ndarray | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Held-out scores, their outcomes, and the candidate chosen in each training part."""
    if order is not None:
        cut = round(len(order) * (1 - HOLDOUT_SHARE))
        train, test = order[:cut], order[cut:]
        if len(set(outcome[test])) < 2 or len(set(outcome[train])) < 2:
            raise ModelDataError("the latest 20 % of rows must hold both outcomes")
        name, model = _fit(features.iloc[train], outcome[train], plan, seed)
        return model.predict_proba(features.iloc[test])[:, 1], outcome[test], [name]
    scores = np.zeros(len(outcome), dtype=float)
    choices = []
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(features, outcome):
        name, model = _fit(features.iloc[train], outcome[train], plan, seed)
        scores[test] = model.predict_proba(features.iloc[test])[:, 1]
        choices.append(name)
    return scores, outcome, choices


def _baseline(features: pd.DataFrame, plan: ColumnPlan) -> dict[str, object]:
    """The typical value of each column: median number, most common category."""
    typical: dict[str, object] = {}
    for name in plan.numeric:
        median = features[name].median()
        typical[name] = None if pd.isna(median) else float(median)
    for name in plan.categorical:
        typical[name] = str(features[name].mode().iloc[0]) if len(features) else MISSING
    return typical


def _guard(
    features: pd.DataFrame, outcome: np.ndarray, plan: ColumnPlan, options: TrainOptions
) -> tuple[ColumnPlan, tuple[ColumnSignal, ...]]:
    """Drop the columns that alone predict the outcome almost perfectly (unless kept)."""
    signals = tuple(column_signals(features, outcome, options.seed))
    if options.keep_leaky:
        return plan, signals
    leaks = {s.column: r for s in signals if (r := s.leak_reason(options.leak_auc)) is not None}
    return (
        replace(
            plan,
            numeric=tuple(c for c in plan.numeric if c not in leaks),
            categorical=tuple(c for c in plan.categorical if c not in leaks),
            excluded={**plan.excluded, **leaks},
        ),
        signals,
    )


def train(path: Path, options: TrainOptions) -> TrainResult:
    """Read ``path``, choose its columns, evaluate, and fit the final model on every row."""
    with one_thread():
        return _train(path, options)


def _train(path: Path, options: TrainOptions) -> TrainResult:
    source = str(path)
    table = read_table(path)
    outcome = binary_outcome(table, options.outcome, source)
    if min(int(outcome.sum()), int(len(outcome) - outcome.sum())) < _MIN_PER_CLASS:
        raise ModelDataError(
            f"{source}: outcome column `{options.outcome}` needs at least {_MIN_PER_CLASS} "
            "rows of each outcome"
        )
    if options.entry_time_only and options.mapping.entry_time is None:
        raise ModelDataError("--entry-time-only needs a mapping file with an `entry_time` list")
    order = (
        _time_order(table, options.time_column, source) if options.time_column is not None else None
    )
    plan = plan_columns(
        table,
        outcome=options.outcome,
        time_column=options.time_column,
        mapping=options.mapping,
        entry_time_only=options.entry_time_only,
    )
    features = feature_frame(table, plan.numeric, plan.categorical)
    plan, signals = _guard(features, outcome, plan, options)
    if not plan.used:
        raise ModelDataError(f"{source}: no column is left to learn from (see excluded columns)")
    features = features[list(plan.used)]
    scores, held_out, choices = _evaluate(features, outcome, plan, order, options.seed)
    name, estimator = _fit(features, outcome, plan, options.seed)
    fitted = FittedModel(estimator, name, plan.numeric, plan.categorical, _baseline(features, plan))
    return TrainResult(
        model=fitted,
        metrics=score_metrics(scores, held_out),
        evaluation="time_holdout" if order is not None else "cv5",
        n_rows=len(table),
        plan=plan,
        signals=signals,
        choices=tuple(choices),
        scores=scores,
        outcome=held_out,
    )
