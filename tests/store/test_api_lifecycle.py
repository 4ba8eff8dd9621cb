"""The seeds' caregiver, end to end over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import CAREGIVER, CAREGIVER_EVENTS
from tests.fakes import FakeClock


def _caregiver_mql(client: TestClient) -> dict[str, Any]:
    created = client.post("/v1/leads", json=CAREGIVER)
    assert created.status_code == 201, created.text
    last: dict[str, Any] = {}
    for event in CAREGIVER_EVENTS:
        response = client.post("/v1/events?wait=decision", json=event)
        assert response.status_code == 201, response.text
        last = response.json()
    return last


def test_caregiver_becomes_mql_with_reasons_after_a_form_a_guide_and_the_scheduling_page(
    client: TestClient,
) -> None:
    created = client.post("/v1/leads", json=CAREGIVER)
    assert created.status_code == 201
    body = created.json()
    assert body["created"] is True
    assert body["decision"]["stage"] in {"new", "nurture"}

    stages = []
    for event in CAREGIVER_EVENTS:
        response = client.post("/v1/events?wait=decision", json=event)
        assert response.status_code == 201, response.text
        (lead,) = response.json()["leads"]
        stages.append(lead["stage"])
    assert stages[-1] == "mql"
    assert response.json()["leads"][0]["stage_changed"] is True

    lead = client.get("/v1/leads/SC-001").json()
    decision = lead["decision"]
    assert decision["stage"] == "mql"
    assert decision["status"] == "New MQL"
    rules = [r["rule"] for r in decision["reasons"]]
    for rule in ("service_line_offered", "in_coverage_area", "form_submitted", "patient_guide"):
        assert rule in rules
    assert "scheduling_page" in rules
    assert {b["rule"] for b in decision["blockers"]} >= {"sales.review"}
    assert decision["playbook"]["id"] == "specialty-clinic"
    assert [e["event_id"] for e in lead["timeline"]] == ["sc1-1", "sc1-2", "sc1-3"]
    assert lead["stage_history"][-1]["to_stage"] == "mql"
    assert lead["stage_history"][-1]["playbook"]["version"] == decision["playbook"]["version"]
    assert lead["profile"]["phone"] == "+16175550142"
    assert lead["allowed_actions"] == ["accept", "reject", "discovery", "disqualify"]


def test_rep_takes_the_mql_to_sql_through_actions_and_history_says_who_and_why(
    client: TestClient, clock: FakeClock
) -> None:
    _caregiver_mql(client)
    accepted = client.post(
        "/v1/leads/SC-001/actions/accept", json={"note": "called back"}, headers={"X-Actor": "ana"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["decision"]["stage"] == "sales_accepted"
    clock.advance(hours=1)
    discovery = client.post(
        "/v1/leads/SC-001/actions/discovery",
        json={
            "need_confirmed": True,
            "eligibility_confirmed": True,
            "next_step": "appointment agreed for 12 March",
        },
        headers={"X-Actor": "ana"},
    )
    assert discovery.status_code == 200, discovery.text
    assert discovery.json()["decision"]["stage"] == "sql"
    assert discovery.json()["previous_stage"] == "sales_accepted"

    history = client.get("/v1/leads/SC-001").json()["stage_history"]
    assert [h["to_stage"] for h in history][-2:] == ["sales_accepted", "sql"]
    assert history[-1]["actor"] == "user:ana"
    assert history[-1]["from_stage"] == "sales_accepted"
    assert "sql.discovery" in [r["rule"] for r in history[-1]["reasons"]]


def test_action_the_stage_does_not_allow_is_409_with_the_allowed_actions(
    client: TestClient,
) -> None:
    _caregiver_mql(client)
    response = client.post("/v1/leads/SC-001/actions/win", json={})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "action_not_allowed"
    assert error["allowed"] == ["accept", "reject", "discovery", "disqualify"]
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql"


def test_reject_disqualify_and_lose_need_a_reason(client: TestClient) -> None:
    _caregiver_mql(client)
    response = client.post("/v1/leads/SC-001/actions/reject", json={"reason": "  "})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "reason"
    rejected = client.post("/v1/leads/SC-001/actions/reject", json={"reason": "no active need"})
    assert rejected.status_code == 200
    assert rejected.json()["decision"]["stage"] == "nurture"
    assert rejected.json()["decision"]["status"] == "Recycled from sales"


def test_a_discovery_with_no_answer_is_422_and_changes_nothing(client: TestClient) -> None:
    _caregiver_mql(client)
    before = client.get("/v1/leads/SC-001").json()
    for empty in ({}, {"decision_path": "  ", "note": "left a message"}):
        response = client.post("/v1/leads/SC-001/actions/discovery", json=empty)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_action"
        assert error["problems"][0]["field"] == "discovery"
        assert "nothing was saved" in error["message"]
    after = client.get("/v1/leads/SC-001").json()
    assert after["decision"]["stage"] == "mql"
    assert len(after["timeline"]) == len(before["timeline"])
    answered = client.post("/v1/leads/SC-001/actions/discovery", json={"need_confirmed": False})
    assert answered.status_code == 200, answered.text


def test_unknown_lead_is_404_in_the_shared_error_shape(client: TestClient) -> None:
    for response in (
        client.get("/v1/leads/nobody"),
        client.post("/v1/leads/nobody/actions/accept", json={}),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "lead_not_found"
    missing = client.post(
        "/v1/events?wait=decision",
        json={"lead_id": "nobody", "type": "page_viewed", "occurred_at": "2026-03-05T10:00:00Z"},
    )
    assert missing.status_code == 404


def test_invalid_input_names_every_bad_field_and_stores_nothing(client: TestClient) -> None:
    response = client.post(
        "/v1/leads",
        json={"lead_id": "X", "email": "not-an-email", "phone": "12", "consent_sms": "maybe"},
    )
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["error"]["problems"]}
    assert fields == {"consent_sms"}  # pydantic rejects the type before the record is read
    response = client.post("/v1/leads", json={"lead_id": "X", "email": "nope", "phone": "12"})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert {p["field"] for p in problems} == {"email", "phone"}
    assert all("nope" not in p["message"] for p in problems)
    assert client.get("/v1/leads/X").status_code == 404

    client.post("/v1/leads", json=CAREGIVER)
    batch = {
        "events": [
            {"lead_id": "SC-001", "type": "page_viewd", "occurred_at": "2026-03-05T10:00:00Z"},
            {"lead_id": "SC-001", "type": "page_viewed", "occurred_at": "yesterday"},
            {
                "lead_id": "SC-001",
                "type": "call_inbound",
                "occurred_at": "2026-03-05T10:00:00Z",
                "properties": {"duration_s": "long"},
            },
            {"lead_id": "SC-001", "type": "form_submitted", "occurred_at": "2026-03-07T10:00:00Z"},
        ]
    }
    response = client.post("/v1/events?wait=decision", json=batch)
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [
        (1, "type"),
        (2, "occurred_at"),
        (3, "properties.duration_s"),
        (4, "occurred_at"),
    ]
    assert "did you mean `page_viewed`" in problems[0]["message"]
    assert client.get("/v1/leads/SC-001").json()["timeline"] == []


def test_events_are_append_only_copies_skipped_conflicts_refused(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    first = client.post("/v1/events?wait=decision", json=CAREGIVER_EVENTS[0])
    assert first.status_code == 201
    again = client.post("/v1/events?wait=decision", json=CAREGIVER_EVENTS[0])
    assert again.status_code == 200
    assert again.json()["duplicates"] == ["sc1-1"]
    changed = {**CAREGIVER_EVENTS[0], "occurred_at": "2026-03-05T10:30:00Z"}
    conflict = client.post("/v1/events?wait=decision", json=changed)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "event_conflict"
    assert len(client.get("/v1/leads/SC-001").json()["timeline"]) == 1


def test_same_person_by_email_or_phone_is_matched_never_duplicated(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    by_email = client.post(
        "/v1/leads", json={"email": "Dana.Caregiver@example.com", "notes": "second form"}
    )
    assert by_email.status_code == 200
    assert by_email.json()["lead_id"] == "SC-001"
    assert by_email.json()["changed_fields"] == ["notes"]
    by_phone = client.post("/v1/leads", json={"lead_id": "crm-77", "phone": "+1 617 555 0142"})
    assert by_phone.status_code == 200
    assert by_phone.json()["lead_id"] == "SC-001"
    assert by_phone.json()["merged_leads"] == ["crm-77"]
    # the alias resolves to the same lead
    assert client.get("/v1/leads/crm-77").json()["lead_id"] == "SC-001"
    page = client.get("/v1/leads").json()
    assert [item["lead_id"] for item in page["items"]] == ["SC-001"]


def test_two_leads_found_to_be_one_person_are_merged_and_audited(
    client: TestClient, clock: FakeClock
) -> None:
    client.post("/v1/leads", json={"lead_id": "A", "email": "pat@example.org", "state": "MA"})
    clock.advance(minutes=1)
    client.post("/v1/leads", json={"lead_id": "B", "phone": "+16175550199", "offer": "guide"})
    client.post(
        "/v1/events?wait=decision",
        json={
            "event_id": "b-1",
            "lead_id": "B",
            "type": "form_submitted",
            "occurred_at": "2026-03-06T11:00:00Z",
        },
    )
    both = client.post("/v1/leads", json={"email": "pat@example.org", "phone": "+16175550199"})
    assert both.status_code == 200
    assert both.json()["lead_id"] == "A"
    assert both.json()["merged_leads"] == ["B"]
    lead = client.get("/v1/leads/B").json()
    assert lead["lead_id"] == "A"
    assert lead["aliases"] == ["B"]
    assert [e["event_id"] for e in lead["timeline"] if e["type"] == "form_submitted"] == ["b-1"]
    assert lead["profile"]["offer"] == "guide"  # what B knew and A lacked
    assert lead["profile"]["state"] == "MA"


def test_external_id_is_deduplicated_per_source(client: TestClient) -> None:
    first = client.post("/v1/leads", json={"external_id": "form-991", "first_name": "Lee"})
    again = client.post("/v1/leads", json={"external_id": "form-991", "first_name": "Lee"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["lead_id"] == first.json()["lead_id"]
    assert again.json()["changed_fields"] == []


def test_a_changed_phone_number_is_not_covered_by_the_old_numbers_consent(
    client: TestClient,
) -> None:
    client.post(
        "/v1/leads",
        json={
            **CAREGIVER,
            "consent_sms": True,
            "consent": {"disclosure_version": "2026-01", "page_url": "https://n.example/f"},
        },
    )
    consents = client.get("/v1/leads/SC-001").json()["consents"]
    sms = [c for c in consents if c["channel"] == "sms"]
    assert sms[0]["contact_point"] == "+16175550142"
    assert sms[0]["active"] is True
    assert sms[0]["disclosure_version"] == "2026-01"
    assert sms[0]["evidence"] == {"page_url": "https://n.example/f"}

    client.post("/v1/leads", json={"lead_id": "SC-001", "phone": "+16175550111"})
    lead = client.get("/v1/leads/SC-001").json()
    assert lead["profile"]["phone"] == "+16175550111"
    active_points = {c["contact_point"] for c in lead["consents"] if c["active"]}
    assert "+16175550111" not in active_points


def test_revoking_consent_is_a_new_row_and_the_grant_stops_being_active(
    client: TestClient,
) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    revoked = client.post(
        "/v1/events?wait=decision",
        json={
            "lead_id": "SC-001",
            "type": "unsubscribed",
            "occurred_at": "2026-03-06T11:00:00Z",
            "properties": {"channel": "email"},
        },
    )
    assert revoked.status_code == 201
    email = [
        c for c in client.get("/v1/leads/SC-001").json()["consents"] if c["channel"] == "email"
    ]
    assert [c["status"] for c in email] == ["granted", "revoked"]
    assert [c["active"] for c in email] == [False, False]
    assert email[1]["revoked_how"] == "unsubscribed"


def test_lead_list_filters_and_pages_with_a_cursor(client: TestClient, clock: FakeClock) -> None:
    for n in range(7):
        clock.advance(minutes=1)
        source = "google" if n % 2 else "referral"
        client.post("/v1/leads", json={"lead_id": f"L{n}", "source": source, "state": "MA"})
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "source": "google"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/leads", params=params).json()
        seen += [item["lead_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["L5", "L3", "L1"]
    assert client.get("/v1/leads", params={"stage": "sql"}).json()["items"] == []
    bad = client.get("/v1/leads", params={"cursor": "garbage"})
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"][0]["field"] == "cursor"


def test_playbooks_and_health_are_listed(client: TestClient) -> None:
    names = {p["id"] for p in client.get("/v1/playbooks").json()}
    assert names == {
        "specialty-clinic",
        "referral-partner",
        "healthtech-b2b",
        "respiratory-program",
    }
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["schema_revision"] == "0009"


def test_unknown_playbook_is_a_422_on_the_playbook_field(client: TestClient) -> None:
    response = client.post("/v1/leads", json={"lead_id": "P", "playbook": "nope"})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "playbook"


def test_sending_the_same_lead_again_does_not_undo_an_unsubscribe(client: TestClient) -> None:
    client.post("/v1/leads", json=CAREGIVER)
    client.post(
        "/v1/events?wait=decision",
        json={"lead_id": "SC-001", "type": "unsubscribed", "properties": {"channel": "email"}},
    )
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 200
    email = [
        c for c in client.get("/v1/leads/SC-001").json()["consents"] if c["channel"] == "email"
    ]
    assert [c["status"] for c in email] == ["granted", "revoked"]

    # a new capture, with its evidence, grants again
    again = {**CAREGIVER, "consent": {"disclosure_version": "2026-02", "method": "web_form"}}
    client.post("/v1/leads", json=again)
    email = [
        c for c in client.get("/v1/leads/SC-001").json()["consents"] if c["channel"] == "email"
    ]
    assert [c["status"] for c in email] == ["granted", "revoked", "granted"]
    assert email[-1]["active"] is True
