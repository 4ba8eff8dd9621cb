"""Scoring leads with a saved model: two columns added to every row of the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leadflow.adapters.model.candidates import one_thread
from leadflow.adapters.model.explain import contributions, describe
from leadflow.adapters.model.features import feature_frame
from leadflow.adapters.model.frame import clean_column, read_raw
from leadflow.adapters.model.train import FittedModel

SCORE_COLUMN = "predicted_conversion"
FACTORS_COLUMN = "predicted_conversion_factors"


@dataclass(frozen=True)
class Scored:
    """The leads as read, with the score and its factors, and model columns the file lacks."""

    table: pd.DataFrame
    absent_columns: tuple[str, ...]


def score_leads(model: FittedModel, path: Path) -> Scored:
    """Score every row of ``path``; the file's own columns and values are kept as they are."""
    raw = read_raw(path)
    cleaned = raw.apply(clean_column)
    features = feature_frame(cleaned, model.numeric, model.categorical)
    with one_thread():
        scores, effects = contributions(model.estimator, features, model.baseline)
    table = raw.drop(columns=[SCORE_COLUMN, FACTORS_COLUMN], errors="ignore")
    table[SCORE_COLUMN] = [f"{s:.4f}" for s in scores]
    table[FACTORS_COLUMN] = describe(features, effects)
    wanted = model.numeric + model.categorical
    return Scored(table, tuple(c for c in wanted if c not in raw.columns))


def write_scored(scored: Scored, target: Path | None) -> str | None:
    """Write the scored leads as CSV to ``target``, or return the CSV text when ``None``."""
    if target is None:
        text: str = scored.table.to_csv(index=False, lineterminator="\n")
        return text
    scored.table.to_csv(target, index=False, lineterminator="\n")
    return None
