"""Reading an export for modelling: placeholders, folded categories, inferred column roles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from leadflow.adapters.model.features import MISSING, feature_frame
from leadflow.adapters.model.frame import binary_outcome, read_table
from leadflow.adapters.model.roles import (
    ColumnPlan,
    ModelMapping,
    Role,
    load_model_mapping,
    plan_columns,
)
from leadflow.errors import InputFileError, ModelDataError


def _plan(
    table: pd.DataFrame, mapping: ModelMapping | None = None, *, entry: bool = False
) -> ColumnPlan:
    return plan_columns(
        table,
        outcome="converted",
        time_column=None,
        mapping=mapping or ModelMapping(),
        entry_time_only=entry,
    )


def test_placeholders_are_missing_and_categories_are_trimmed_and_case_folded(
    synthetic_export: Path,
) -> None:
    table = read_table(synthetic_export)
    assert table["source"].isna().any()  # `Select` means "not answered"
    features = feature_frame(table, ("minutes",), ("source",))
    assert set(features["source"]) == {"google", "referral", "event", MISSING}


def test_ids_constants_and_free_text_are_excluded_with_their_reason(
    synthetic_export: Path,
) -> None:
    table = read_table(synthetic_export)
    table["comment"] = [f"called on day {i}, left a note" for i in range(len(table))]
    table["comment"] = table["comment"].where(table.index % 3 != 0, "ok")
    plan = _plan(table)
    assert plan.excluded["lead_ref"].startswith("id:")
    assert plan.excluded["region"].startswith("constant:")
    assert plan.excluded["comment"].startswith("free text:")
    assert {"minutes", "visits"} <= set(plan.numeric)
    assert {"source", "close_reason", "signed_by"} <= set(plan.categorical)


def test_a_mapping_overrides_roles_and_entry_time_only_keeps_its_columns(tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(
        "roles: {visits: categorical, minutes: ignore}\nentry_time: [source, visits, minutes]\n",
        encoding="utf-8",
    )
    mapping = load_model_mapping(mapping_file)
    assert mapping.roles == {"visits": Role.CATEGORICAL, "minutes": Role.IGNORE}
    table = pd.DataFrame(
        {
            "source": ["a", "b"] * 10,
            "visits": ["1", "2", "3", "4"] * 5,
            "minutes": ["5", "6", "7", "8"] * 5,
            "tag": ["x", "y"] * 10,
            "converted": ["1", "0"] * 10,
        }
    )
    plan = _plan(table, mapping, entry=True)
    assert plan.categorical == ("source", "visits")
    assert plan.excluded["minutes"] == "ignore: set in the mapping"
    assert plan.excluded["tag"].startswith("not known at lead entry")


def test_a_mapping_with_an_unknown_role_is_an_error_naming_it(tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text("roles: {visits: number}\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="`visits`: unknown role `number`"):
        load_model_mapping(mapping_file)


def test_the_outcome_must_exist_and_be_binary() -> None:
    table = pd.DataFrame({"Won": ["yes", "no", "maybe"], "x": ["1", "2", "3"]})
    with pytest.raises(ModelDataError, match="no outcome column `won` \\(did you mean `Won`"):
        binary_outcome(table, "won", "f.csv")
    with pytest.raises(ModelDataError, match="`Won` is not binary"):
        binary_outcome(table, "Won", "f.csv")
    assert list(binary_outcome(table.iloc[:2], "Won", "f.csv")) == [1, 0]


def test_a_file_without_rows_is_an_error_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,converted\n", encoding="utf-8")
    with pytest.raises(ModelDataError, match=r"empty\.csv: the file has a header but no rows"):
        read_table(empty)
