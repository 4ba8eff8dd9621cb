"""Spelled-out states, countries and service lines through the API, ``leadflow import`` and
``leadflow requalify`` (issue 12, part 2), on SQLite and PostgreSQL.

The stored profile keeps what was sent; every decision reads it through the same
normalisation and says so in its reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.entrypoints.cli import app as cli
from tests.factories import CAREGIVER

SPELLED = {
    **CAREGIVER,
    "state": "Massachusetts",
    "country": "United States",
    "service_line": "Sleep Medicine",
}
NOTES = {
    "state `Massachusetts` read as MA",
    "country `United States` read as US",
    "service_line `Sleep Medicine` read as sleep_medicine",
}


def _labels(decision: dict[str, Any]) -> set[str]:
    return {r["label"] for r in decision["reasons"]}


def test_a_posted_lead_with_a_spelled_out_state_is_read_not_disqualified(
    client: TestClient,
) -> None:
    created = client.post("/v1/leads", json=SPELLED)
    assert created.status_code == 201, created.text
    decision = created.json()["decision"]
    assert decision["stage"] != "disqualified"
    assert decision["disqualification_reason"] is None
    assert _labels(decision) >= NOTES
    stored = client.get("/v1/leads/SC-001").json()
    assert stored["profile"]["state"] == "Massachusetts"  # what was sent is kept


def test_requalify_reads_a_stored_profile_the_same_way(
    client: TestClient, database_url: str
) -> None:
    client.post("/v1/leads", json=SPELLED)
    later = "2026-06-01T12:00:00Z"
    result = CliRunner().invoke(
        cli, ["requalify", "--as-of", later, "--database-url", database_url]
    )
    assert result.exit_code == 0, result.stderr
    decision = client.get("/v1/leads/SC-001").json()["decision"]
    assert decision["stage"] != "disqualified"
    assert _labels(decision) >= NOTES


def test_an_imported_row_with_mass_and_sleep_is_read_not_disqualified(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,lead_type,email,service_line,postal_code,state,country,consent_email\n"
        "IMP-1,patient,imp@example.com,sleep,02139,Mass.,USA,yes\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", str(leads), "--database-url", database_url])
    assert result.exit_code == 0, result.stderr
    decision = client.get("/v1/leads/IMP-1").json()["decision"]
    assert decision["disqualification_reason"] is None
    assert _labels(decision) >= {
        "state `Mass.` read as MA",
        "country `USA` read as US",
        "service_line `sleep` read as sleep_medicine",
    }


def test_a_posted_disposable_address_warns_and_a_junk_name_is_disqualified(
    client: TestClient,
) -> None:
    throwaway = {**CAREGIVER, "email": "dana@mailinator.com"}
    warned = client.post("/v1/leads", json=throwaway).json()["decision"]
    assert warned["disqualification_reason"] is None
    [warning] = [r for r in warned["reasons"] if r["rule"] == "data_quality.disposable_email"]
    assert warning["points"] == 0
    assert "mailinator" not in warning["label"]
    junk = {**CAREGIVER, "lead_id": "SC-JUNK", "email": "j@example.org", "phone": None}
    junk |= {"first_name": "test", "last_name": "test"}
    stopped = client.post("/v1/leads", json=junk).json()["decision"]
    assert stopped["stage"] == "disqualified"
    assert stopped["disqualification_reason"] == "test_or_junk_record"
