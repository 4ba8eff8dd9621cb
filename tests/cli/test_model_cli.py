"""`leadflow model train` and `leadflow model score`, end to end, and a playbook using the score."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadflow.entrypoints.cli import app

Summary = dict[str, Any]
TRAIN = ("model", "train", "--data")
AS_OF = "2026-03-06T12:00:00+00:00"

PLAYBOOK = """\
id: predicted-fit
name: "Leads the conversion model rates highly"
fit:
  - id: likely_to_convert
    label: "Predicted conversion of 60 % or more"
    points: 30
    when: {field: custom.predicted_conversion, at_least: 0.6}
stages:
  mql:
    fit_at_least: 30
    intent_at_least: 0
  sql:
    requires:
      - {answer: need_confirmed, label: "Need confirmed"}
bands:
  - {name: very_likely, predicted_at_least: 0.8, next_action: "Call within the hour"}
  - {name: likely, fit_at_least: 30, next_action: "Call today"}
  - {name: other, next_action: "Nurture"}
"""


@pytest.fixture(scope="module")
def model_run(
    synthetic_export: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Summary]:
    folder = tmp_path_factory.mktemp("trained") / "model"
    result = CliRunner().invoke(
        app,
        [
            *TRAIN,
            str(synthetic_export),
            "--outcome",
            "converted",
            "--json",
            "-o",
            str(folder),
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    return folder, json.loads(result.stdout)


def test_train_prints_one_json_object_with_the_figures_and_exclusions(
    model_run: tuple[Path, Summary],
) -> None:
    _, summary = model_run
    for key in ("roc_auc", "sensitivity", "specificity", "cutoff", "base_rate", "n_rows"):
        assert isinstance(summary[key], int | float)
    assert summary["evaluation"] == "cv5"
    assert summary["roc_auc"] > 0.75
    assert summary["excluded_columns"]["close_reason"].startswith("alone predicts")
    assert set(summary["used_columns"]) == {"minutes", "visits", "source"}


def test_train_saves_the_model_its_metadata_and_a_reliability_plot(
    model_run: tuple[Path, Summary],
) -> None:
    folder, _ = model_run
    assert (folder / "model.pkl").is_file()
    assert (folder / "reliability.png").read_bytes().startswith(b"\x89PNG")
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert meta["options"]["seed"] == 1


def test_train_without_json_prints_a_readable_summary(synthetic_export: Path) -> None:
    result = CliRunner().invoke(
        app,
        [*TRAIN, str(synthetic_export), "--outcome", "converted", "--time-column", "created_at"],
    )
    assert result.exit_code == 0, result.output
    assert "evaluated by time_holdout" in result.stdout
    assert "ROC AUC" in result.stdout
    assert "close_reason" in result.stdout


@pytest.mark.parametrize(
    ("outcome", "content", "message"),
    [
        ("won", None, "no outcome column `won`"),
        ("minutes", None, "outcome column `minutes` is not binary"),
        ("converted", "a,converted\n", "has a header but no rows"),
    ],
)
def test_unusable_data_exits_2_with_a_message_naming_the_problem(
    synthetic_export: Path, tmp_path: Path, outcome: str, content: str | None, message: str
) -> None:
    data = synthetic_export
    if content is not None:
        data = tmp_path / "empty.csv"
        data.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["model", "train", "--data", str(data), "--outcome", outcome])
    assert result.exit_code == 2
    assert message in result.stderr


def _leads_with_ids(source: Path, target: Path) -> Path:
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with target.open("w", newline="", encoding="utf-8") as handle:
        fields = ["lead_id", "source", "minutes", "visits"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows[:60]:
            writer.writerow({"lead_id": row["lead_ref"], **{k: row[k] for k in fields[1:]}})
    return target


def test_score_adds_the_probability_and_its_factors_to_every_lead(
    model_run: tuple[Path, Summary],
    synthetic_export: Path,
    tmp_path: Path,
) -> None:
    folder, _ = model_run
    leads = _leads_with_ids(synthetic_export, tmp_path / "leads.csv")
    result = CliRunner().invoke(
        app, ["model", "score", "--model", str(folder), "--leads", str(leads)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 60
    assert all(0.0 <= float(r["predicted_conversion"]) <= 1.0 for r in rows)
    assert all(r["predicted_conversion_factors"] for r in rows)
    assert "lacks model columns" not in result.stderr


def test_a_playbook_qualifies_a_lead_on_its_predicted_conversion(
    model_run: tuple[Path, Summary],
    synthetic_export: Path,
    tmp_path: Path,
) -> None:
    folder, _ = model_run
    leads = _leads_with_ids(synthetic_export, tmp_path / "leads.csv")
    scored = tmp_path / "scored.csv"
    runner = CliRunner()
    result = runner.invoke(
        app, ["model", "score", "--model", str(folder), "--leads", str(leads), "-o", str(scored)]
    )
    assert result.exit_code == 0, result.output
    with scored.open(encoding="utf-8") as handle:
        predicted = {r["lead_id"]: float(r["predicted_conversion"]) for r in csv.DictReader(handle)}
    likely = [lead for lead, p in predicted.items() if p >= 0.6]
    unlikely = [lead for lead, p in predicted.items() if p < 0.6]
    assert likely
    assert unlikely
    playbook = tmp_path / "predicted.yaml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    result = runner.invoke(
        app, ["qualify", "--playbook", str(playbook), "--leads", str(scored), "--as-of", AS_OF]
    )
    assert result.exit_code == 0, result.output
    decisions = {d["lead_id"]: d for d in map(json.loads, result.stdout.splitlines())}
    for lead in likely:
        assert decisions[lead]["stage"] == "mql"
        rules = [r["rule"] for r in decisions[lead]["reasons"]]
        assert rules == ["likely_to_convert", "model.predicted_conversion"]
        expected_band = "very_likely" if predicted[lead] >= 0.8 else "likely"
        assert decisions[lead]["band"] == expected_band
    for lead in unlikely:
        assert decisions[lead]["stage"] == "new"
        assert [r["rule"] for r in decisions[lead]["reasons"]] == ["model.predicted_conversion"]
        assert decisions[lead]["band"] == "other"
    # Every decision shows the prediction with its top factors for and against.
    for lead, decision in decisions.items():
        shown = decision["reasons"][-1]["label"]
        assert shown.startswith(f"Predicted conversion {predicted[lead]:.0%} (")
        assert "for:" in shown or "against:" in shown


def test_entry_time_only_uses_the_mappings_columns_and_still_guards_them(
    synthetic_export: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("entry_time: [source, minutes, close_reason]\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            *TRAIN,
            str(synthetic_export),
            "--outcome",
            "converted",
            "--json",
            "--mapping",
            str(mapping),
            "--entry-time-only",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary["used_columns"]) == {"source", "minutes"}
    assert summary["excluded_columns"]["visits"].startswith("not known at lead entry")
    assert summary["excluded_columns"]["close_reason"].startswith("alone predicts")


def test_a_mapping_with_a_bad_role_exits_2(synthetic_export: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("roles: {minutes: number}\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [*TRAIN, str(synthetic_export), "--outcome", "converted", "--mapping", str(mapping)],
    )
    assert result.exit_code == 2
    assert "unknown role `number`" in result.stderr
