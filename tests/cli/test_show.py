"""`leadflow show`: decisions as text a person can follow."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadflow.entrypoints.cli import app

RUNNER = CliRunner()

RECORD = {
    "lead_id": "L-1",
    "stage": "mql",
    "status": "New MQL",
    "fit_score": 50.0,
    "intent_score": 43.42,
    "band": "mid",
    "reasons": [
        {
            "rule": "form_submitted",
            "label": "Submitted an enquiry form",
            "points": 19.06,
            "evidence": ["e1"],
        },
        {
            "rule": "scheduling_page",
            "label": "Viewed a scheduling page",
            "points": 14.62,
            "evidence": ["e3"],
        },
    ],
    "blockers": [{"rule": "sales.review", "label": "Sales review: accept or reject"}],
    "disqualification_reason": None,
    "next_action": "Intake call",
    "route": {"queue": "patient_education", "owner": None, "sla_due_at": None},
    "playbook": {"id": "specialty-clinic", "version": "abc123"},
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "decisions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_show_prints_each_lead_with_why_what_it_needs_and_what_to_do(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(RECORD))
    result = RUNNER.invoke(app, ["show", str(path)])
    assert result.exit_code == 0, result.output
    assert "L-1  mql — New MQL" in result.output
    assert "+19.06 Submitted an enquiry form" in result.output
    assert "needs   Sales review: accept or reject" in result.output
    assert "next    Intake call" in result.output
    assert "1 leads: mql 1" in result.output


def test_show_one_lead_lists_every_reason_with_its_evidence(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(RECORD))
    result = RUNNER.invoke(app, ["show", str(path), "--lead", "L-1"], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "scheduling_page" in result.output
    assert "e3" in result.output
    assert "patient_education" in result.output
    assert "specialty-clinic version abc123" in result.output


def test_show_an_unknown_lead_is_a_usage_error(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(RECORD))
    result = RUNNER.invoke(app, ["show", str(path), "--lead", "L-404"])
    assert result.exit_code == 2
    assert "L-404" in result.output


def test_show_names_the_line_that_is_not_a_decision(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(RECORD), '{"lead_id": "L-2"}')
    result = RUNNER.invoke(app, ["show", str(path)])
    assert result.exit_code == 2
    assert "line 2: not a decision record (missing stage" in result.output


def test_show_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["show", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
