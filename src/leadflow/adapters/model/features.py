"""The model's input frame: numbers as floats (NaN when missing), categories folded."""

from __future__ import annotations

import pandas as pd

from leadflow.adapters.model.frame import fold_category, to_number

#: The category given to a missing categorical value, so that missingness is a feature.
MISSING = "(missing)"


def feature_frame(
    table: pd.DataFrame, numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> pd.DataFrame:
    """Columns ``numeric + categorical`` of ``table``, ready for the model's pipeline.

    A column the table lacks (a scored file from an older export) is all missing.
    """
    columns: dict[str, pd.Series] = {}
    empty = pd.Series([None] * len(table), index=table.index, dtype=object)
    for name in numeric:
        columns[name] = to_number(table[name] if name in table.columns else empty)
    for name in categorical:
        folded = fold_category(table[name] if name in table.columns else empty)
        columns[name] = folded.where(folded.notna(), MISSING).astype(object)
    return pd.DataFrame(columns, index=table.index)
