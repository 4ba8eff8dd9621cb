"""Training: the right columns, honest evaluation, metrics, a saved model that scores leads."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from leadflow.adapters.model import (
    FACTORS_COLUMN,
    SCORE_COLUMN,
    TrainOptions,
    TrainResult,
    load_model,
    reliability_plot,
    save_model,
    score_leads,
    train,
)
from leadflow.adapters.model.evaluate import balanced_cutoff, score_metrics
from leadflow.errors import InputFileError, ModelDataError

SUMMARY_KEYS = {
    "roc_auc",
    "sensitivity",
    "specificity",
    "cutoff",
    "top10_conversion",
    "top20_conversion",
    "top30_conversion",
    "base_rate",
    "n_rows",
    "evaluation",
    "model",
    "used_columns",
    "excluded_columns",
}


@pytest.fixture(scope="module")
def trained(synthetic_export: Path) -> TrainResult:
    return train(synthetic_export, TrainOptions(outcome="converted"))


def test_training_excludes_ids_constants_and_both_planted_leaks(trained: TrainResult) -> None:
    excluded = trained.summary()["excluded_columns"]
    assert set(excluded) == {"lead_ref", "region", "created_at", "close_reason", "signed_by"}
    assert "alone predicts the outcome" in excluded["close_reason"]
    assert "whether it is filled in" in excluded["signed_by"]
    assert set(trained.summary()["used_columns"]) == {"minutes", "visits", "source"}


def test_training_finds_the_real_signal_under_cross_validation(trained: TrainResult) -> None:
    summary = trained.summary()
    assert set(summary) >= SUMMARY_KEYS
    assert summary["evaluation"] == "cv5"
    assert summary["n_rows"] == summary["n_evaluated"] == 400
    assert summary["roc_auc"] > 0.75
    assert summary["model"] in ("logistic", "boosting")
    assert abs(summary["sensitivity"] - summary["specificity"]) < 0.05
    assert summary["top10_conversion"] > summary["base_rate"]
    json.dumps(summary)  # plain JSON types only


def test_keeping_leaky_columns_makes_the_model_look_too_good(synthetic_export: Path) -> None:
    leaky = train(synthetic_export, TrainOptions(outcome="converted", keep_leaky=True))
    assert "close_reason" in leaky.plan.used
    assert leaky.metrics.roc_auc > 0.97


def test_a_time_column_evaluates_on_the_latest_fifth_of_leads(synthetic_export: Path) -> None:
    result = train(synthetic_export, TrainOptions(outcome="converted", time_column="created_at"))
    assert result.evaluation == "time_holdout"
    assert result.metrics.n_evaluated == 80
    assert result.plan.excluded["created_at"].startswith("time column")
    assert result.metrics.roc_auc > 0.7


def test_a_missing_outcome_column_is_an_error_naming_it(synthetic_export: Path) -> None:
    with pytest.raises(ModelDataError, match="no outcome column `won`"):
        train(synthetic_export, TrainOptions(outcome="won"))


def test_a_non_binary_outcome_is_an_error_naming_it(synthetic_export: Path) -> None:
    with pytest.raises(ModelDataError, match="`minutes` is not binary"):
        train(synthetic_export, TrainOptions(outcome="minutes"))


def test_the_balanced_cutoff_makes_sensitivity_and_specificity_meet() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    outcome = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    assert balanced_cutoff(scores, outcome) == 0.6
    metrics = score_metrics(scores, outcome)
    assert metrics.sensitivity == metrics.specificity == 0.75
    assert metrics.top10_conversion == 1.0
    assert metrics.base_rate == 0.5


def test_the_reliability_plot_is_a_png(tmp_path: Path, trained: TrainResult) -> None:
    target = tmp_path / "plot.png"
    reliability_plot(trained.scores, trained.outcome, target, "test")
    assert target.read_bytes().startswith(b"\x89PNG")


def test_a_saved_model_scores_and_explains_new_leads(
    tmp_path: Path, trained: TrainResult, synthetic_export: Path
) -> None:
    folder = save_model(tmp_path / "model", trained, {"outcome": "converted"})
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["columns"]["excluded"]["close_reason"].startswith("alone predicts")
    assert {s["column"] for s in meta["leakage"]} >= {"close_reason", "signed_by"}
    assert meta["leadflow_version"]
    scored = score_leads(load_model(folder), synthetic_export)
    scores = scored.table[SCORE_COLUMN].astype(float)
    assert scores.between(0, 1).all()
    assert all(len(s.split(".")[1]) == 4 for s in scored.table[SCORE_COLUMN])
    with synthetic_export.open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert scored.table["source"].iloc[0] == first["source"]  # the file's values are kept
    factors = " ".join(scored.table[FACTORS_COLUMN])
    assert "minutes=" in factors
    assert "for: " in factors
    assert "against: " in factors
    assert "close_reason" not in factors
    assert scored.absent_columns == ()


def test_a_folder_without_a_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a model folder"):
        load_model(tmp_path)
