"""`leadflow backtest` end to end: Markdown, JSON, HTML with charts, and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.entrypoints.cli import app
from leadflow.samples import sample_path

HISTORY = Path(__file__).parents[1] / "data" / "backtest"
BASE = [
    "backtest",
    "--playbook",
    str(HISTORY / "playbook.yaml"),
    "--leads",
    str(HISTORY / "leads.csv"),
    "--events",
    str(HISTORY / "events.csv"),
    "--as-of",
    "2026-02-02T09:00:00Z",
]
SWEEP = ["--sweep", "mql.fit=20:30:10,mql.intent=10:20:10", "--capacity", "1/week"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_markdown_report_goes_to_stdout_by_default(runner: CliRunner) -> None:
    result = runner.invoke(app, [*BASE, "--outcome", "sql"])
    assert result.exit_code == 0, result.output
    assert "# Backtest: backtest-clinic" in result.stdout
    assert "| mql | 4 | 1.0 | 3 | 75.0% | 75.0% | 1.88 | 4.0 | 6.0 |" in result.stdout
    assert "backtest: 10 leads, 15 events, 4 reached sql" in result.stderr


def test_json_report_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, [*BASE, "--outcome", "sql", *SWEEP, "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert (record["n_leads"], record["n_outcomes"], record["base_rate"]) == (10, 4, 0.4)
    best = record["sweep"]["recommended"]
    assert (best["fit_at_least"], best["intent_at_least"]) == (20, 20)


def test_html_report_writes_index_and_charts(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    args = [*BASE, "--outcome", "sql", *SWEEP, "--compare", "specialty-clinic"]
    result = runner.invoke(app, [*args, "--format", "html", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    page = (folder / "index.html").read_text(encoding="utf-8")
    for chart in ("mql_volume.png", "bands.png", "sweep.png"):
        assert (folder / chart).read_bytes().startswith(b"\x89PNG")
        assert f"src='{chart}'" in page
    assert "http" not in page  # nothing loaded from elsewhere
    assert "Recommended: fit ≥ 20, intent ≥ 20" in page


def test_html_needs_an_output_folder(runner: CliRunner) -> None:
    result = runner.invoke(app, [*BASE, "--outcome", "sql", "--format", "html"])
    assert result.exit_code == 2
    assert "-o DIR" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sweep", "mql.fit=20-60"], "--sweep mql.fit: expected START:STOP:STEP"),
        (["--sweep", "mql.fit=20:60:5", "--capacity", "lots"], "--capacity: expected N/week"),
        (["--outcome", "not a column"], "--outcome"),
    ],
)
def test_bad_options_are_usage_errors(runner: CliRunner, extra: list[str], message: str) -> None:
    args = [*BASE, *extra] if "--outcome" in extra else [*BASE, "--outcome", "sql", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_column_outcome_on_the_bundled_samples(runner: CliRunner) -> None:
    args = ["backtest", "--playbook", "specialty-clinic", "--outcome", "won", "--format", "json"]
    args += ["--leads", str(sample_path("leads.csv")), "--events", str(sample_path("events.csv"))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["n_leads"] == 13
    assert [s["name"] for s in record["per_stage"]] == ["new", "nurture", "mql", "disqualified"]


def test_rejected_rows_are_reported_and_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    text = (HISTORY / "leads.csv").read_text(encoding="utf-8")
    leads.write_text(text + "L11,patient,x@example.com,cardiology,MA,US,maybe,\n", "utf-8")
    args = [a if a != str(HISTORY / "leads.csv") else str(leads) for a in BASE]
    result = runner.invoke(app, [*args, "--outcome", "sql"])
    assert result.exit_code == 1, result.output
    assert "rejected rows: 1" in result.stderr


def test_events_of_unknown_leads_are_reported(runner: CliRunner, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    text = (HISTORY / "events.csv").read_text(encoding="utf-8")
    events.write_text(text + "E99,L99,form_submitted,2026-01-20T09:00:00Z,,\n", "utf-8")
    args = [a if a != str(HISTORY / "events.csv") else str(events) for a in BASE]
    result = runner.invoke(app, [*args, "--outcome", "sql"])
    assert result.exit_code == 0, result.output
    assert "1 event for 1 lead id not among the qualified leads: L99" in result.stderr
