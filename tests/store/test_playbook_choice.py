"""The deployment's playbook choice at every door: API, webhooks and ``leadflow import``
(SQLite and PostgreSQL), and a playbook file edited under a running server."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from tests.fakes import FakeClock
from tests.store.conftest import LOCAL, webhook_headers

B2B_BUYER: dict[str, Any] = {
    "lead_id": "B2B-1",
    "lead_type": "b2b",
    "first_name": "Jordan",
    "email": "jordan@clinic.example.com",
    "organization": "Harbor Family Clinic",
    "role": "practice_administrator",
    "org_type": "clinic",
    "state": "TX",
    "country": "US",
    "offer": "scheduling",
    "source": "website",
    "consent_email": True,
}
REFERRER: dict[str, Any] = {
    "lead_id": "REF-1",
    "lead_type": "referral_partner",
    "email": "office@practice.example.com",
    "org_type": "practice",
    "specialty": "primary_care",
    "state": "MA",
    "country": "US",
    "consent_email": True,
}
RESPIRATORY: dict[str, Any] = {
    "lead_id": "RESP-1",
    "lead_type": "patient",
    "email": "sam@example.org",
    "service_line": "Sleep Medicine",
    "state": "MA",
    "postal_code": "02139",
    "country": "US",
    "consent_email": True,
}


def _reasons(decision: dict[str, Any]) -> dict[str, str]:
    return {r["rule"]: r["label"] for r in decision["reasons"]}


def test_a_b2b_buyer_posted_without_a_playbook_is_judged_by_healthtech_b2b(
    client: TestClient,
) -> None:
    answer = client.post("/v1/leads", json=B2B_BUYER)
    assert answer.status_code == 201, answer.text
    decision = answer.json()["decision"]
    assert decision["playbook"]["id"] == "healthtech-b2b"
    assert decision["stage"] != "disqualified"
    assert decision["disqualification_reason"] is None
    assert _reasons(decision)["playbook.chosen"] == "Playbook chosen by rule `b2b`"
    assert "playbook.lead_type_mismatch" not in _reasons(decision)
    lead = client.get("/v1/leads/B2B-1").json()
    assert lead["decision"]["playbook"]["id"] == "healthtech-b2b"
    assert _reasons(lead["decision"])["playbook.chosen"] == "Playbook chosen by rule `b2b`"


def test_the_choice_is_still_said_after_an_event_requalifies_the_lead(client: TestClient) -> None:
    assert client.post("/v1/leads", json=B2B_BUYER).status_code == 201
    event = {
        "event_id": "b2b-demo-1",
        "lead_id": "B2B-1",
        "type": "demo_requested",
        "occurred_at": "2026-03-06T11:00:00Z",
    }
    answer = client.post("/v1/events?wait=decision", json=event)
    assert answer.status_code == 201, answer.text
    decision = client.get("/v1/leads/B2B-1").json()["decision"]
    assert "demo_request" in _reasons(decision)
    assert _reasons(decision)["playbook.chosen"] == "Playbook chosen by rule `b2b`"


def test_a_referral_partner_goes_to_referral_partner(client: TestClient) -> None:
    decision = client.post("/v1/leads", json=REFERRER).json()["decision"]
    assert decision["playbook"]["id"] == "referral-partner"
    assert _reasons(decision)["playbook.chosen"] == "Playbook chosen by rule `referral_partner`"


def test_a_sleep_medicine_patient_goes_to_the_respiratory_program(client: TestClient) -> None:
    decision = client.post("/v1/leads", json=RESPIRATORY).json()["decision"]
    assert decision["playbook"]["id"] == "respiratory-program"
    assert _reasons(decision)["playbook.chosen"] == "Playbook chosen by rule `respiratory`"


def test_a_named_playbook_that_contradicts_the_lead_type_is_kept_with_a_warning(
    client: TestClient,
) -> None:
    named = {**B2B_BUYER, "playbook": "specialty-clinic"}
    decision = client.post("/v1/leads", json=named).json()["decision"]
    assert decision["playbook"]["id"] == "specialty-clinic"
    reasons = _reasons(decision)
    assert "playbook.chosen" not in reasons
    assert reasons["playbook.lead_type_mismatch"] == (
        "Warning: playbook `specialty-clinic` is written for `patient` leads, not lead type `b2b`"
    )
    warning = next(r for r in decision["reasons"] if r["rule"] == "playbook.lead_type_mismatch")
    assert warning["points"] == 0


def test_a_deployment_file_of_ones_own_picks_the_playbook(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        "playbook_choice:\n"
        "  rules:\n"
        "    - id: partners_by_source\n"
        "      when: {source: [Referral Portal]}\n"
        "      playbook: referral-partner\n"
        "  default: healthtech-b2b\n",
        encoding="utf-8",
    )
    app = make_app(config=str(config))
    with TestClient(create_app(app), base_url=LOCAL) as client:
        portal = {**REFERRER, "lead_type": None, "source": "referral-portal"}
        first = client.post("/v1/leads", json=portal).json()["decision"]
        other = client.post("/v1/leads", json={**B2B_BUYER, "lead_type": None}).json()
    assert first["playbook"]["id"] == "referral-partner"
    assert _reasons(first)["playbook.chosen"] == "Playbook chosen by rule `partners_by_source`"
    assert other["decision"]["playbook"]["id"] == "healthtech-b2b"
    assert _reasons(other["decision"])["playbook.chosen"] == (
        "Playbook chosen by no rule matched: the default"
    )


def test_a_webhook_lead_without_a_playbook_is_chosen_by_the_rules(
    client: TestClient, clock: FakeClock
) -> None:
    body = json.dumps({"lead": {k: v for k, v in B2B_BUYER.items() if k != "lead_id"}}).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers("msg_b2b", stamp, body)
    answer = client.post("/v1/webhooks/forms?wait=decision", content=body, headers=headers)
    assert answer.status_code == 201, answer.text
    lead_id = answer.json()["lead"]["lead_id"]
    decision = client.get(f"/v1/leads/{lead_id}").json()["decision"]
    assert decision["playbook"]["id"] == "healthtech-b2b"
    assert decision["stage"] != "disqualified"


def test_import_decides_each_row_under_the_playbook_its_type_calls_for(
    database_url: str, tmp_path: Path, client: TestClient
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,lead_type,email,organization,role,org_type,service_line,state,country,offer\n"
        "I-B2B,b2b,it@clinic.example.com,Harbor,cio,clinic,,TX,US,scheduling\n"
        "I-REF,referral_partner,office@practice.example.com,,,practice,,MA,US,\n"
        "I-RESP,patient,pat@example.org,,,,pulmonology,MA,US,\n"
        "I-CARD,patient,card@example.org,,,,cardiology,MA,US,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", str(leads), "--database-url", database_url])
    assert result.exit_code == 0, result.stderr
    chosen = {}
    for lead_id in ("I-B2B", "I-REF", "I-RESP", "I-CARD"):
        decision = client.get(f"/v1/leads/{lead_id}").json()["decision"]
        chosen[lead_id] = (decision["playbook"]["id"], _reasons(decision)["playbook.chosen"])
    assert chosen == {
        "I-B2B": ("healthtech-b2b", "Playbook chosen by rule `b2b`"),
        "I-REF": ("referral-partner", "Playbook chosen by rule `referral_partner`"),
        "I-RESP": ("respiratory-program", "Playbook chosen by rule `respiratory`"),
        "I-CARD": ("specialty-clinic", "Playbook chosen by rule `patient`"),
    }
    b2b = client.get("/v1/leads/I-B2B").json()["decision"]
    assert b2b["stage"] != "disqualified"


# -- playbooks of one's own, edited under a running server ------------------------------------


def _own_playbook(folder: Path, name: str, min_fit: str) -> Path:
    """A copy of ``specialty-clinic`` named ``name`` whose MQL needs ``min_fit`` fit."""
    shipped = files("leadflow") / "playbooks" / "specialty-clinic.yaml"
    source = shipped.read_text(encoding="utf-8").replace("id: specialty-clinic", f"id: {name}", 1)
    path = folder / f"{name}.yaml"
    path.write_text(source.replace("fit_at_least:", f"fit_at_least: {min_fit} #", 1), "utf-8")
    return path


def _hot(lead: dict[str, Any], n: int) -> dict[str, Any]:
    return {**lead, "lead_id": f"HOT-{n}", "email": f"hot{n}@example.org"}


def test_a_changed_playbook_file_is_used_by_the_next_request_with_its_new_version(
    make_app: Callable[..., App], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert "specialty-clinic" in shipped_playbooks()
    folder = tmp_path / "playbooks"
    folder.mkdir()
    path = _own_playbook(folder, "north-clinic", "40")
    app = make_app(playbook_dir=str(folder), playbook_reload_s=0)
    lead = {**RESPIRATORY, "service_line": "cardiology", "playbook": "north-clinic"}
    with TestClient(create_app(app), base_url=LOCAL, raise_server_exceptions=False) as client:
        first = client.post("/v1/leads", json=_hot(lead, 1)).json()["decision"]
        _own_playbook(folder, "north-clinic", "45")
        second = client.post("/v1/leads", json=_hot(lead, 2)).json()["decision"]
        assert first["playbook"]["id"] == second["playbook"]["id"] == "north-clinic"
        assert first["playbook"]["version"] != second["playbook"]["version"]

        good = path.read_text(encoding="utf-8")
        path.write_text(good.replace("fit:\n", "fit:\n  - id: [broken\n", 1), encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="leadflow.adapters.playbook_files"):
            third = client.post("/v1/leads", json=_hot(lead, 3))
            fourth = client.post("/v1/leads", json=_hot(lead, 4))
        assert third.status_code == fourth.status_code == 201, third.text
        assert third.json()["decision"]["playbook"] == second["playbook"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # once per change, not once per request
        assert f"{path}:" in warnings[0]
        assert "not reloaded" in warnings[0]
        assert second["playbook"]["version"] in warnings[0]
