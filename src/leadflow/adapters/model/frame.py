"""Reading a CRM export for modelling: text cells, placeholders as missing, a binary outcome.

Every cell is read as text and trimmed; placeholder answers (``Select``, ``N/A``, ``none``,
``unknown``, ``-``, empty …) become missing. Nothing here knows any particular export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from leadflow.errors import InputFileError, ModelDataError

#: Cell values (after trimming and case-folding) that mean "not answered".
PLACEHOLDERS = frozenset(
    {"", "select", "n/a", "na", "nan", "none", "null", "unknown", "-", "--", "?", "not provided"}
)
_POSITIVE = frozenset({"1", "1.0", "true", "yes", "y", "won", "converted", "t"})
_NEGATIVE = frozenset({"0", "0.0", "false", "no", "n", "lost", "not converted", "f"})


def read_table(path: Path) -> pd.DataFrame:
    """Every column as text (``None`` where missing or a placeholder); at least one row."""
    return read_raw(path).apply(clean_column)


def read_raw(path: Path) -> pd.DataFrame:
    """Every cell as the text in the file (header names trimmed); at least one row."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except pd.errors.EmptyDataError:
        raise ModelDataError(f"{path}: the file is empty (no header, no rows)") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path}: cannot read it as CSV ({exc})") from None
    if raw.empty:
        raise ModelDataError(f"{path}: the file has a header but no rows")
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw


def clean_column(column: pd.Series) -> pd.Series:
    """Trimmed text, ``None`` for empty cells and placeholders."""
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    missing = text.str.casefold().isin(PLACEHOLDERS)
    return text.astype(object).where(~missing, None)


def fold_category(column: pd.Series) -> pd.Series:
    """Categorical values made comparable: inner spaces collapsed, case-folded."""
    present = column.notna()
    folded = column.astype(object).copy()
    folded[present] = (
        column[present].astype(str).str.replace(r"\s+", " ", regex=True).str.casefold()
    )
    return folded


def to_number(column: pd.Series) -> pd.Series:
    """Numbers (thousands separators dropped); anything else becomes NaN."""
    text = column.astype(object).where(column.notna(), "").astype(str).str.replace(",", "")
    return pd.to_numeric(text.where(text != "", "nan"), errors="coerce").astype(float)


def binary_outcome(table: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """The outcome as 0/1; rows without an outcome are an error (the message says how many)."""
    if column not in table.columns:
        close = [c for c in table.columns if c.casefold() == column.casefold()]
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise ModelDataError(f"{source}: no outcome column `{column}`{hint}")
    values = table[column]
    missing = int(values.isna().sum())
    if missing:
        raise ModelDataError(f"{source}: outcome column `{column}` is empty in {missing} rows")
    folded = values.astype(str).str.casefold()
    distinct = sorted(set(folded))
    unknown = [v for v in distinct if v not in _POSITIVE | _NEGATIVE]
    if unknown or len(distinct) > 2:
        shown = ", ".join(f"`{v}`" for v in distinct[:5])
        raise ModelDataError(
            f"{source}: outcome column `{column}` is not binary (values {shown}); "
            "expected 1/0, yes/no, true/false or won/lost"
        )
    outcome: np.ndarray = np.asarray(folded.isin(_POSITIVE).to_numpy(dtype=int))
    if outcome.min() == outcome.max():
        raise ModelDataError(
            f"{source}: outcome column `{column}` has only one value; a model needs both "
            "converted and not converted leads"
        )
    return outcome
