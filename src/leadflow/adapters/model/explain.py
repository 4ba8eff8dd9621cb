"""Per-lead explanations: which values raise a lead's predicted conversion, which lower it.

For every lead and every column the model uses, the column is set to its typical value (the
training median or most common category) and the lead is scored again; the difference is
that column's contribution. Deterministic, and one extra scoring pass per column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Contributions smaller than this (in probability) are not worth showing.
MIN_EFFECT = 0.005
_SHOWN = 3
_VALUE_WIDTH = 30


def predict(estimator: Any, features: pd.DataFrame) -> np.ndarray:
    """Predicted conversion probability of each row."""
    return np.asarray(estimator.predict_proba(features)[:, 1], dtype=float)


def contributions(
    estimator: Any, features: pd.DataFrame, baseline: dict[str, object]
) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's probability, and (leads × columns) its change from each column's value."""
    scores = predict(estimator, features)
    effects = np.zeros((len(features), len(features.columns)), dtype=float)
    for index, name in enumerate(features.columns):
        swapped = features.copy()
        typical = baseline.get(name)
        swapped[name] = np.nan if typical is None else typical
        if swapped[name].dtype.kind != "f" and features[name].dtype.kind == "f":
            swapped[name] = swapped[name].astype(float)
        effects[:, index] = scores - predict(estimator, swapped)
    return scores, effects


def _value(raw: object) -> str:
    text = str(raw)
    if isinstance(raw, float):
        text = "missing" if np.isnan(raw) else f"{raw:g}"
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def describe(features: pd.DataFrame, effects: np.ndarray) -> list[str]:
    """For each lead: ``for: A=x +0.12, …; against: B=y -0.08, …`` (top 3 of each)."""
    names = list(features.columns)
    texts = []
    for row, lead_effects in enumerate(effects):
        order = np.argsort(-lead_effects, kind="stable")
        ups = [i for i in order if lead_effects[i] >= MIN_EFFECT][:_SHOWN]
        downs = [i for i in order[::-1] if lead_effects[i] <= -MIN_EFFECT][:_SHOWN]
        parts = []
        for label, chosen in (("for", ups), ("against", downs)):
            if chosen:
                shown = ", ".join(
                    f"{names[i]}={_value(features.iat[row, i])} {lead_effects[i]:+.2f}"
                    for i in chosen
                )
                parts.append(f"{label}: {shown}")
        texts.append("; ".join(parts) if parts else "no single value stands out")
    return texts
