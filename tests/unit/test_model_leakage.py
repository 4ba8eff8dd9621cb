"""The leakage guard: columns that alone give the outcome away are excluded, with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from leadflow.adapters.model.features import feature_frame
from leadflow.adapters.model.frame import binary_outcome, read_table
from leadflow.adapters.model.leakage import LEAK_AUC, ColumnSignal, column_signals


def _signals(path: Path) -> dict[str, ColumnSignal]:
    table = read_table(path)
    outcome = binary_outcome(table, "converted", str(path))
    features = feature_frame(table, ("minutes", "visits"), ("source", "close_reason", "signed_by"))
    return {s.column: s for s in column_signals(features, outcome, seed=0)}


def test_a_column_that_alone_predicts_the_outcome_is_a_leak(synthetic_export: Path) -> None:
    reason = _signals(synthetic_export)["close_reason"].leak_reason()
    assert reason is not None
    assert reason.startswith("alone predicts the outcome with AUC 0.9")
    assert reason.endswith("looks filled in after the outcome")


def test_a_column_whose_missingness_predicts_the_outcome_is_a_leak(synthetic_export: Path) -> None:
    reason = _signals(synthetic_export)["signed_by"].leak_reason()
    assert reason is not None
    assert reason.startswith("whether it is filled in alone predicts the outcome with AUC 1.00")


def test_real_signal_is_not_mistaken_for_a_leak(synthetic_export: Path) -> None:
    signals = _signals(synthetic_export)
    assert 0.6 < signals["minutes"].value_auc < LEAK_AUC
    assert signals["minutes"].leak_reason() is None
    assert signals["source"].leak_reason() is None
    assert signals["visits"].leak_reason() is None


def test_a_column_without_any_signal_scores_about_one_half() -> None:
    rng = np.random.default_rng(3)
    outcome = rng.integers(0, 2, size=500)
    features = pd.DataFrame({"noise": rng.normal(size=500)})
    (signal,) = column_signals(features, outcome, seed=0)
    assert 0.5 <= signal.value_auc < 0.6
    assert signal.missing_auc is None
