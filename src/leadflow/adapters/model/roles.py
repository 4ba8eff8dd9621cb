"""Column roles: which columns a model may use, as numbers or as categories, and why not.

Roles are inferred from the data and can be overridden by a mapping file::

    roles: {Lead Number: id, Notes: ignore, Score: numeric, Plan: categorical}
    entry_time: [Lead Source, Country, Total Time Spent]   # columns known at lead entry
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd
import yaml

from leadflow.adapters.model.frame import to_number
from leadflow.errors import InputFileError

#: A column is numeric when at least this share of its filled cells are numbers.
NUMERIC_SHARE = 0.95
#: Text with more distinct values than this share of its filled cells (and more than
#: ``FREE_TEXT_MIN`` of them) is free text, not a category.
FREE_TEXT_SHARE = 0.5
FREE_TEXT_MIN = 50


class Role(StrEnum):
    """What a column is to the model."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    ID = "id"
    IGNORE = "ignore"


@dataclass(frozen=True)
class ModelMapping:
    """The mapping file: role overrides and the columns known at lead entry."""

    roles: dict[str, Role] = field(default_factory=dict)
    entry_time: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """The columns a model uses, by kind, and every other column with the reason."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    excluded: dict[str, str]

    @property
    def used(self) -> tuple[str, ...]:
        """The columns the model uses: the numeric ones, then the categorical ones."""
        return self.numeric + self.categorical


def _read_mapping(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputFileError(f"{path}: mapping file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputFileError(f"{path}: cannot read the mapping ({exc})") from None


def _roles(raw: object, problems: list[str]) -> dict[str, Role]:
    if not isinstance(raw, dict):
        problems.append("`roles` must map column names to a role")
        return {}
    roles: dict[str, Role] = {}
    allowed = ", ".join(r.value for r in Role)
    for column, role in raw.items():
        try:
            roles[str(column).strip()] = Role(str(role).strip().lower())
        except ValueError:
            problems.append(f"roles: `{column}`: unknown role `{role}`; use one of {allowed}")
    return roles


def _entry_time(entry: object, problems: list[str]) -> tuple[str, ...] | None:
    if entry is None:
        return None
    if isinstance(entry, list) and all(isinstance(c, str) for c in entry):
        return tuple(c.strip() for c in entry)
    problems.append("`entry_time` must be a list of column names")
    return None


def load_model_mapping(path: Path) -> ModelMapping:
    """Read and check a mapping file; every problem is reported at once."""
    data = _read_mapping(path)
    if data is None:
        return ModelMapping()
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a mapping with `roles` and/or `entry_time`")
    problems = [f"unknown key `{k}`" for k in data if k not in ("roles", "entry_time")]
    roles = _roles(data.get("roles") or {}, problems)
    entry_time = _entry_time(data.get("entry_time"), problems)
    if problems:
        raise InputFileError(f"{path}: the mapping is not valid: " + "; ".join(problems))
    return ModelMapping(roles=roles, entry_time=entry_time)


def _infer(column: pd.Series) -> tuple[Role | None, str]:
    """The role of one column, or ``None`` with the reason it cannot be used."""
    filled = column.dropna()
    if filled.empty:
        return None, "empty: no row has a value"
    distinct = filled.astype(str).str.casefold().nunique()
    if distinct == 1:
        return None, "constant: every filled row has the same value"
    numbers = to_number(filled)
    numeric = float(numbers.notna().mean()) >= NUMERIC_SHARE
    unique_per_row = distinct == len(column) and len(column) > 1
    if unique_per_row and (not numeric or bool((numbers.dropna() % 1 == 0).all())):
        return None, "id: a different value in every row"
    if numeric:
        return Role.NUMERIC, ""
    if distinct > FREE_TEXT_MIN and distinct > FREE_TEXT_SHARE * len(filled):
        return None, f"free text: {distinct} distinct values in {len(filled)} filled rows"
    return Role.CATEGORICAL, ""


def plan_columns(
    table: pd.DataFrame,
    *,
    outcome: str,
    time_column: str | None,
    mapping: ModelMapping,
    entry_time_only: bool,
) -> ColumnPlan:
    """Decide the role of every column of ``table``."""
    numeric: list[str] = []
    categorical: list[str] = []
    excluded: dict[str, str] = {}
    entry = set(mapping.entry_time or ())
    for name in table.columns:
        if name == outcome:
            continue
        if name == time_column:
            excluded[name] = "time column: orders the evaluation, not a feature"
            continue
        override = mapping.roles.get(name)
        if override in (Role.ID, Role.IGNORE):
            excluded[name] = f"{override.value}: set in the mapping"
            continue
        if entry_time_only and name not in entry:
            excluded[name] = "not known at lead entry (not in the mapping's entry_time)"
            continue
        role, reason = _infer(table[name])
        if override is not None and role is not None:
            role = override
        elif override is not None and reason.startswith(("id", "free text")):
            role = override  # the user knows better than a heuristic about ids and text
        if role is None:
            excluded[name] = reason
        elif role is Role.NUMERIC:
            numeric.append(name)
        else:
            categorical.append(name)
    return ColumnPlan(tuple(numeric), tuple(categorical), excluded)
