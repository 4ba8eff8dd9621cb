"""The leakage guard on a real CRM export (read from ../shared/data; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

import leadflow.adapters.model
from leadflow.adapters.model.features import feature_frame
from leadflow.adapters.model.frame import binary_outcome, read_table
from leadflow.adapters.model.leakage import column_signals
from leadflow.adapters.model.roles import ModelMapping, plan_columns

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "xeducation"


@pytest.mark.shared_data
def test_the_leakage_guard_excludes_the_sales_tags_of_the_xeducation_export() -> None:
    leads = DATA / "xeducation_leads.csv"
    if not leads.is_file():
        pytest.skip(f"{leads} is absent (real data lives outside the repository)")
    table = read_table(leads)
    outcome = binary_outcome(table, "Converted", str(leads))
    plan = plan_columns(
        table, outcome="Converted", time_column=None, mapping=ModelMapping(), entry_time_only=False
    )
    assert plan.excluded["Prospect ID"].startswith("id:")
    features = feature_frame(table, plan.numeric, plan.categorical)
    leaks = {s.column: s.leak_reason() for s in column_signals(features, outcome, seed=0)}
    assert leaks["Tags"] is not None
    assert leaks["Tags"].startswith("alone predicts the outcome")
    assert leaks["Total Time Spent on Website"] is None


def test_the_trainer_knows_nothing_of_any_particular_export() -> None:
    package = Path(leadflow.adapters.model.__file__).parent
    sources = [*package.glob("*.py"), package.parents[1] / "entrypoints" / "model_cli.py"]
    for needle in ("xeducation", "x education", "tags", "lead quality", "asymmetrique"):
        for source in sources:
            assert needle not in source.read_text(encoding="utf-8").casefold(), source
