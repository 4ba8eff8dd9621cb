"""Reason codes over HTTP, files and the reports, on SQLite and PostgreSQL: the API takes a
code of the lead's playbook (any case and spacing) or answers 422 with the allowed codes,
posted events and imports pass the same check, and one reason is one row in the reports —
hard stops, reps and reasons an older store kept as free text alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import EventType
from leadflow.domain.reasons import ReasonKind
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from tests.factories import CAREGIVER, CAREGIVER_EVENTS, store_legacy_reason
from tests.fakes import START

CLINIC = load_playbook("specialty-clinic")


def _mql(client: TestClient, lead_id: str = "SC-001", **fields: Any) -> None:
    email = f"{lead_id.lower()}@example.com"
    body = {**CAREGIVER, "lead_id": lead_id, "email": email, "phone": None, **fields}
    assert client.post("/v1/leads", json=body).status_code == 201
    for event in CAREGIVER_EVENTS:
        sent = {**event, "lead_id": lead_id}
        sent.pop("event_id", None)
        assert client.post("/v1/events?wait=decision", json=sent).status_code == 201


def _timeline(client: TestClient, lead_id: str) -> list[dict[str, Any]]:
    timeline: list[dict[str, Any]] = client.get(f"/v1/leads/{lead_id}").json()["timeline"]
    return timeline


def test_an_action_takes_a_code_in_any_case_and_spacing_and_keeps_the_note_apart(
    client: TestClient,
) -> None:
    _mql(client)
    done = client.post(
        "/v1/leads/SC-001/actions/reject",
        json={"reason": " Not-Ready ", "note": "call back after the summer"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["decision"]["stage"] == "nurture"
    (rejected,) = [e for e in _timeline(client, "SC-001") if e["type"] == "sales_rejected"]
    assert rejected["properties"] == {"reason": "not_ready", "note": "call back after the summer"}


def test_an_undeclared_reason_is_422_invalid_action_listing_the_codes_and_stores_nothing(
    client: TestClient,
) -> None:
    _mql(client)
    before = _timeline(client, "SC-001")
    for action, sent, kind in (
        ("disqualify", "has asthma, wants to wait", ReasonKind.DISQUALIFY),
        ("reject", "insurance_not_accepted", ReasonKind.REJECT),  # a disqualify code
        ("lose", "not_ready", ReasonKind.LOSE),
    ):
        response = client.post(f"/v1/leads/SC-001/actions/{action}", json={"reason": sent})
        assert response.status_code == 422, action
        error = response.json()["error"]
        assert error["code"] == "invalid_action"
        assert [p["field"] for p in error["problems"]] == ["reason"]
        assert error["allowed"] == CLINIC.reasons.codes(kind)
        assert f"not a {kind.value} reason code of playbook `specialty-clinic`" in error["message"]
        assert sent not in response.text  # the value sent is never echoed
    assert _timeline(client, "SC-001") == before


def test_posted_events_pass_the_same_check_and_a_bad_batch_stores_nothing(
    client: TestClient,
) -> None:
    _mql(client)
    before = _timeline(client, "SC-001")
    batch = {
        "events": [
            {"lead_id": "SC-001", "type": "outreach_logged", "properties": {"channel": "phone"}},
            {"lead_id": "SC-001", "type": "disqualified", "properties": {"reason": "moved away"}},
        ]
    }
    refused = client.post("/v1/events?wait=decision", json=batch)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_record"
    assert [(p["field"], p["row"]) for p in error["problems"]] == [("properties.reason", 2)]
    assert "`insurance_not_accepted`" in error["problems"][0]["message"]
    assert _timeline(client, "SC-001") == before
    batch["events"][1]["properties"] = {"reason": "Insurance Not Accepted"}
    assert client.post("/v1/events?wait=decision", json=batch).status_code == 201
    (stored,) = [e for e in _timeline(client, "SC-001") if e["type"] == "disqualified"]
    assert stored["properties"] == {"reason": "insurance_not_accepted"}


def test_an_import_rejects_the_row_with_an_undeclared_reason_naming_row_and_field(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    _mql(client)
    _mql(client, "SC-002")
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,lead_id,type,occurred_at,reason\n"
        "E-1,SC-001,closed_lost,2026-03-06T12:30:00Z,\n"
        "E-2,SC-001,disqualified,2026-03-06T12:30:00Z,No insurance we take\n"
        "E-3,SC-002,disqualified,2026-03-06T12:30:00Z,Insurance not accepted\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.jsonl"
    options = ["--events", str(events), "--rejects", str(rejects), "--database-url", database_url]
    result = CliRunner().invoke(cli, ["import", str(_empty_leads(tmp_path)), *options])
    assert result.exit_code == 1, result.stderr
    found = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["row"], r["record_id"], r["field"]) for r in found] == [
        (2, "E-2", "properties.reason")
    ]
    assert "No insurance we take" not in rejects.read_text(encoding="utf-8") + result.stderr
    assert not [e for e in _timeline(client, "SC-001") if e["type"] == "disqualified"]
    (stored,) = [e for e in _timeline(client, "SC-002") if e["type"] == "disqualified"]
    assert stored["properties"] == {"reason": "insurance_not_accepted"}


def _empty_leads(tmp_path: Path) -> Path:
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,email\n", encoding="utf-8")
    return leads


def _legacy(app: App, lead_id: str, kind: EventType, reason: str) -> None:
    _at = START.replace(hour=13)
    store_legacy_reason(app, lead_id, f"OLD-{lead_id}", kind=kind, reason=reason, at=_at)


def _act(client: TestClient, lead_id: str, action: str, reason: str) -> None:
    done = client.post(f"/v1/leads/{lead_id}/actions/{action}", json={"reason": reason})
    assert done.status_code == 200, done.text


def test_one_reason_is_one_row_whether_a_hard_stop_a_rep_or_an_older_store_gave_it(
    client: TestClient, app: App
) -> None:
    _mql(client, "SC-001")  # a rep disqualifies with the code, typed their own way
    _act(client, "SC-001", "disqualify", "Out of coverage area")
    outside = {"state": "CA", "postal_code": "94110", "email": "b@example.com", "phone": None}
    created = client.post("/v1/leads", json={**CAREGIVER, "lead_id": "SC-002", **outside})
    assert created.json()["decision"]["disqualification_reason"] == "out_of_coverage_area"
    _mql(client, "SC-003")  # an older store kept what the rep typed
    _legacy(app, "SC-003", EventType.DISQUALIFIED, "out of coverage area")
    _mql(client, "SC-004")
    _legacy(app, "SC-004", EventType.CLOSED_LOST, "Went with a cheaper clinic")
    _mql(client, "SC-005")
    _legacy(app, "SC-005", EventType.SALES_REJECTED, "Not ready")
    _mql(client, "SC-006")
    _act(client, "SC-006", "reject", "not_ready")

    pareto = client.get("/v1/reports/disqualifications").json()
    assert [(r["reason"], r["label"], r["sources"], r["count"]) for r in pareto["rows"]] == [
        ("out_of_coverage_area", "Outside the coverage area", "disqualified+hard_stop", 3),
        ("went_with_a_cheaper_clinic", "other: went_with_a_cheaper_clinic", "closed_lost", 1),
    ]
    acceptance = client.get("/v1/reports/acceptance").json()
    assert [(r["reason"], r["label"], r["rejections"]) for r in acceptance["rows"]] == [
        ("not_ready", "Not ready to book yet", 2)
    ]
    csv = client.get("/v1/reports/disqualifications", params={"format": "csv"}).text
    assert csv.splitlines()[0] == "reason,label,sources,count,share,cumulative_share"
    assert csv.splitlines()[1].startswith("out_of_coverage_area,Outside the coverage area,")


def test_the_playbooks_endpoint_and_the_openapi_document_say_which_codes_are_allowed(
    client: TestClient,
) -> None:
    listed = {p["id"]: p for p in client.get("/v1/playbooks").json()}
    reasons = listed["specialty-clinic"]["reasons"]
    assert reasons["reject"][0] == {"code": "no_active_need", "label": "No active care need"}
    for kind in ReasonKind:
        assert [r["code"] for r in reasons[kind.value]] == CLINIC.reasons.codes(kind)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    described = schema["ActionIn"]["properties"]["reason"]["description"]
    assert "reason code the lead's playbook declares" in described
    assert "invalid_action" in described
    assert "label" in schema["ParetoRow"]["properties"]
