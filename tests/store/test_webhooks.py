"""Signed webhook deliveries: retried deliveries store the lead and its events once."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.store.conftest import FakeClock, webhook_headers

FORM = {
    "lead": {
        "external_id": "typeform-5521",
        "lead_type": "patient",
        "email": "riley@example.org",
        "service_line": "cardiology",
        "state": "MA",
        "postal_code": "02139",
        "country": "US",
        "consent_email": True,
    },
    "events": [
        {
            "type": "form_submitted",
            "occurred_at": "2026-03-06T11:58:00Z",
            "properties": {"form": "heart-check", "service_line": "cardiology"},
        },
    ],
}


def _deliver(client: TestClient, clock: FakeClock, delivery_id: str, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers(delivery_id, stamp, body)
    return client.post("/v1/webhooks/forms?wait=decision", content=body, headers=headers)


def test_a_form_delivered_five_times_under_new_ids_is_one_lead_with_one_form_event(
    client: TestClient, clock: FakeClock
) -> None:
    answers = [_deliver(client, clock, f"msg_{n}", FORM) for n in range(5)]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200]
    lead_ids = {a.json()["lead"]["lead_id"] for a in answers}
    assert len(lead_ids) == 1
    page = client.get("/v1/leads").json()["items"]
    assert len(page) == 1
    timeline = client.get(f"/v1/leads/{lead_ids.pop()}").json()["timeline"]
    assert [e["type"] for e in timeline] == ["form_submitted"]
    assert timeline[0]["actor"] == "webhook:forms"


def test_the_same_delivery_id_gets_the_first_answer_again(
    client: TestClient, clock: FakeClock
) -> None:
    first = _deliver(client, clock, "msg_same", FORM)
    clock.advance(seconds=30)
    again = _deliver(client, clock, "msg_same", FORM)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_body_re_serialised_after_signing_is_refused(
    client: TestClient, clock: FakeClock
) -> None:
    body = json.dumps(FORM).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers("msg_x", stamp, body)
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    refused = client.post("/v1/webhooks/forms?wait=decision", content=reserialised, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "webhook_bad_signature"
    assert client.get("/v1/leads").json()["items"] == []


def test_bad_payload_names_the_field_and_stores_nothing(
    client: TestClient, clock: FakeClock
) -> None:
    bad = {"lead": {"email": "nope"}, "events": [{"type": "form_submited"}]}
    response = _deliver(client, clock, "msg_bad", bad)
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [(p["field"], p["row"]) for p in problems] == [
        ("lead.email", 1),
        ("events.type", 1),
    ]
    assert client.get("/v1/leads").json()["items"] == []
    # the refused delivery is not remembered: the sender may fix it and send it again
    assert _deliver(client, clock, "msg_bad", FORM).status_code == 201
