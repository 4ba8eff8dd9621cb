"""Identity that respects households, over HTTP and the CLI, on SQLite and PostgreSQL: two
people sharing a phone stay two linked leads, a junk initial does not overwrite a name, and
a merge is undone by ``POST /v1/leads/{id}/unmerge`` or ``leadflow lead unmerge``."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.entrypoints.cli import app as cli
from tests.factories import CAREGIVER
from tests.fakes import FakeClock

PATIENT = {
    "lead_id": "SC-002",
    "lead_type": "patient",
    "first_name": "Robin",
    "email": "robin.patient@example.com",
    "phone": "(617) 555-0142",  # the caregiver's number
    "service_line": "dermatology",
    "state": "MA",
    "country": "US",
    "consent_phone": True,
}


def _lead(client: TestClient, lead_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/leads/{lead_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_caregiver_and_a_patient_sharing_one_phone_get_two_linked_leads(
    client: TestClient,
) -> None:
    caregiver = client.post("/v1/leads", json=CAREGIVER)
    assert caregiver.status_code == 201
    patient = client.post("/v1/leads", json=PATIENT)
    assert patient.status_code == 201, patient.text
    body = patient.json()
    assert (body["lead_id"], body["created"], body["merged_leads"]) == ("SC-002", True, [])
    assert body["related_leads"] == [{"lead_id": "SC-001", "relation": "household"}]
    dana, robin = _lead(client, "SC-001"), _lead(client, "SC-002")
    assert dana["related"] == [{"lead_id": "SC-002", "relation": "household"}]
    assert robin["related"] == [{"lead_id": "SC-001", "relation": "household"}]
    assert (dana["profile"]["first_name"], dana["profile"]["email"]) == (
        "Dana",
        "dana.caregiver@example.com",
    )
    assert robin["profile"]["phone"] == "+16175550142"
    assert [c["contact_point"] for c in robin["consents"]] == ["+16175550142"]
    listed = client.get("/v1/leads").json()
    assert sorted(item["lead_id"] for item in listed["items"]) == ["SC-001", "SC-002"]
    # the dashboard's lead page links the other lead by id and relation, nothing more
    page = client.get("/leads/SC-001")
    assert page.status_code == 200
    assert '<a href="/leads/SC-002">SC-002</a> (household)' in page.text
    assert "Robin" not in page.text
    # the patient's next form, by phone and name only, finds the patient
    again = client.post("/v1/leads", json={"first_name": "Robin", "phone": "+16175550142"})
    assert (again.status_code, again.json()["lead_id"]) == (200, "SC-002")


def test_an_initial_from_a_junk_record_does_not_overwrite_the_name(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    junk = client.post("/v1/leads", json={"email": "dana.caregiver@example.com", "first_name": "D"})
    assert junk.status_code == 200
    assert junk.json()["kept_fields"] == ["first_name"]
    assert junk.json()["changed_fields"] == []
    assert _lead(client, "SC-001")["profile"]["first_name"] == "Dana"


def test_a_merge_is_undone_over_the_api_and_both_leads_come_back(
    client: TestClient, clock: FakeClock
) -> None:
    client.post("/v1/leads", json={"lead_id": "A", "email": "pat@example.org", "state": "MA"})
    clock.advance(minutes=1)
    client.post("/v1/leads", json={"lead_id": "B", "phone": "+16175550199", "offer": "guide"})
    event = {"event_id": "b-1", "lead_id": "B", "type": "form_submitted"}
    assert client.post("/v1/events?wait=decision", json=event).status_code == 201
    both = client.post("/v1/leads", json={"email": "pat@example.org", "phone": "+16175550199"})
    assert both.json()["merged_leads"] == ["B"]
    assert _lead(client, "B")["lead_id"] == "A"

    undone = client.post("/v1/leads/B/unmerge", headers={"X-Actor": "ana"})
    assert undone.status_code == 200, undone.text
    assert undone.json()["lead_id"] == "B"
    assert undone.json()["unmerged_from"] == "A"
    assert undone.json()["cleared_fields"] == ["offer", "phone"]
    assert set(undone.json()["stages"]) == {"A", "B"}
    b, a = _lead(client, "B"), _lead(client, "A")
    assert b["lead_id"] == "B"
    assert [e["event_id"] for e in b["timeline"]] == ["b-1"]
    assert b["decision"] is not None
    assert (b["profile"]["offer"], b["profile"]["phone"]) == ("guide", "+16175550199")
    assert (a["profile"].get("offer"), a["profile"].get("phone")) == (None, None)
    assert a["aliases"] == []
    assert all(e["event_id"] != "b-1" for e in a["timeline"])
    # the phone names B again
    by_phone = client.post("/v1/leads", json={"phone": "+16175550199"})
    assert by_phone.json()["lead_id"] == "B"
    again = client.post("/v1/leads/B/unmerge")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_merged")


def test_leadflow_lead_unmerge_restores_both_and_the_audit_chain_verifies(
    client: TestClient, database_url: str
) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    alias = client.post("/v1/leads", json={"lead_id": "crm-77", "phone": "+1 617 555 0142"})
    assert alias.json()["merged_leads"] == ["crm-77"]
    runner = CliRunner()
    done = runner.invoke(cli, ["lead", "unmerge", "crm-77", "--database-url", database_url])
    assert done.exit_code == 0, done.output
    assert "crm-77 is its own lead again (was merged into SC-001)" in done.output
    assert _lead(client, "crm-77")["lead_id"] == "crm-77"
    assert _lead(client, "SC-001")["aliases"] == []
    unknown = runner.invoke(cli, ["lead", "unmerge", "nobody", "--database-url", database_url])
    assert unknown.exit_code != 0
    assert "no lead with id `nobody`" in unknown.output
    verified = runner.invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert verified.exit_code == 0, verified.output
