"""``leadflow qualify`` reads spelled-out states, countries and service lines (issue 12, part 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leadflow.entrypoints.cli import app

AS_OF = "2026-03-06T12:00:00+00:00"
HEADER = "lead_id,lead_type,email,phone,service_line,postal_code,state,country,consent_email\n"


def _decide(tmp_path: Path, rows: str) -> list[dict[str, Any]]:
    leads = tmp_path / "leads.csv"
    leads.write_text(HEADER + rows, encoding="utf-8")
    args = ["qualify", "--playbook", "specialty-clinic", "--as-of", AS_OF, "--leads", str(leads)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _labels(decision: dict[str, Any]) -> list[str]:
    return [r["label"] for r in decision["reasons"]]


def test_a_spelled_out_state_and_service_line_are_not_disqualified(tmp_path: Path) -> None:
    rows = (
        "N-1,patient,a@example.com,,Sleep Medicine,02139,Massachusetts,United States,yes\n"
        "N-2,patient,b@example.com,,sleep,03301,N.H.,USA,yes\n"
        "N-3,patient,c@example.com,,sleep-medicine,02903,Rhode Island,U.S.,yes\n"
    )
    decisions = _decide(tmp_path, rows)
    assert [d["stage"] for d in decisions] == ["new", "new", "new"]
    assert all(d["disqualification_reason"] is None for d in decisions)
    first = _labels(decisions[0])
    assert "state `Massachusetts` read as MA" in first
    assert "service_line `Sleep Medicine` read as sleep_medicine" in first
    assert "country `United States` read as US" in first
    assert "state `N.H.` read as NH" in _labels(decisions[1])
    assert "country `U.S.` read as US" in _labels(decisions[2])


def test_a_state_outside_the_coverage_area_is_still_disqualified_once_read(tmp_path: Path) -> None:
    decisions = _decide(tmp_path, "N-4,patient,d@example.com,,cardiology,10001,New York,US,yes\n")
    assert decisions[0]["disqualification_reason"] == "out_of_coverage_area"
    assert "state `New York` read as NY" in _labels(decisions[0])


def test_a_value_already_canonical_adds_no_note(tmp_path: Path) -> None:
    decisions = _decide(tmp_path, "N-5,patient,e@example.com,,cardiology,02139,MA,US,yes\n")
    assert not [r for r in decisions[0]["reasons"] if r["rule"].startswith("normalised.")]
