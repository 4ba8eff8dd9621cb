"""Webhook sources with a mapping: vendor payloads become leads and events, and a form re-sent
under a new delivery id within the dedupe window is one event."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.settings import Settings
from leadflow.errors import SourceMappingError
from tests.store.conftest import LOCAL, WEBHOOK_SECRET, FakeClock, webhook_headers

SOURCES = {"webform": "web-form", "calls": "call-tracking", "webinars": "webinar"}


def _sample(name: str) -> Any:
    return json.loads((files("leadflow") / "samples" / "webhooks" / f"{name}.json").read_text())


@pytest.fixture
def mapped_client(make_app: Callable[..., App]) -> Any:
    secrets = {source: [WEBHOOK_SECRET] for source in (*SOURCES, "forms")}
    app = make_app(webhook_secrets=secrets, webhook_mappings=SOURCES)
    with TestClient(create_app(app), base_url=LOCAL, raise_server_exceptions=False) as client:
        yield client


def _post(client: TestClient, clock: FakeClock, source: str, delivery_id: str, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers(delivery_id, stamp, body)
    return client.post(f"/v1/webhooks/{source}?wait=decision", content=body, headers=headers)


def _timeline(client: TestClient, lead_id: str) -> list[dict[str, Any]]:
    timeline: list[dict[str, Any]] = client.get(f"/v1/leads/{lead_id}").json()["timeline"]
    return timeline


def _resubmitted(form: Any, token: str, submitted_at: str) -> Any:
    again = copy.deepcopy(form)
    again["event_id"] = f"evt-{token}"
    again["form_response"]["token"] = token
    again["form_response"]["submitted_at"] = submitted_at
    return again


def test_a_vendor_form_payload_becomes_a_lead_and_a_form_event(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    answer = _post(mapped_client, clock, "webform", "msg_1", _sample("web-form"))
    assert answer.status_code == 201, answer.text
    lead_id = answer.json()["lead"]["lead_id"]
    lead = mapped_client.get(f"/v1/leads/{lead_id}").json()
    assert lead["profile"]["email"] == "riley.quinn@example.com"
    assert (lead["profile"]["state"], lead["profile"]["service_line"]) == ("MA", "cardiology")
    [event] = lead["timeline"]
    assert (event["type"], event["occurred_at"]) == ("form_submitted", "2026-03-06T11:58:00Z")
    assert event["properties"]["form"] == "nwHeart1"
    assert event["actor"] == "webhook:webform"


def test_the_same_form_re_sent_under_new_ids_within_the_window_is_one_event(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    form = _sample("web-form")
    first = _post(mapped_client, clock, "webform", "msg_1", form).json()
    [stored] = first["events"]["stored"]
    clock.advance(minutes=10)
    again = _resubmitted(form, "p0q9w8e7r6t5y4u3", "2026-03-06T12:09:30Z")
    second = _post(mapped_client, clock, "webform", "msg_2", again)
    assert second.status_code == 200
    assert second.json()["events"]["stored"] == []
    assert second.json()["events"]["duplicates"] == [stored]
    exact = _post(mapped_client, clock, "webform", "msg_3", form).json()["events"]
    assert (exact["stored"], exact["duplicates"]) == ([], [stored])
    assert [e["event_id"] for e in _timeline(mapped_client, first["lead"]["lead_id"])] == [stored]


def test_the_same_form_sent_after_the_window_is_a_new_event(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    form = _sample("web-form")
    first = _post(mapped_client, clock, "webform", "msg_1", form).json()
    clock.advance(hours=25)
    later = _resubmitted(form, "z1x2c3v4b5n6m7", "2026-03-07T12:58:00Z")
    second = _post(mapped_client, clock, "webform", "msg_2", later).json()
    assert len(second["events"]["stored"]) == 1
    assert len(_timeline(mapped_client, first["lead"]["lead_id"])) == 2


def test_changed_answers_are_a_new_form_event(mapped_client: TestClient, clock: FakeClock) -> None:
    form = _sample("web-form")
    first = _post(mapped_client, clock, "webform", "msg_1", form).json()
    other = _resubmitted(form, "a9s8d7f6", "2026-03-06T11:59:00Z")
    other["form_response"]["form_id"] = "nwSleep2"
    second = _post(mapped_client, clock, "webform", "msg_2", other).json()
    assert len(second["events"]["stored"]) == 1
    assert len(_timeline(mapped_client, first["lead"]["lead_id"])) == 2


def test_two_calls_with_their_own_ids_are_two_events_and_a_retried_call_is_one(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    call = _sample("call-tracking")
    first = _post(mapped_client, clock, "calls", "msg_1", call).json()
    retried = _post(mapped_client, clock, "calls", "msg_2", call).json()
    assert retried["events"]["duplicates"] == [call["resource_id"]]
    second_call = {**call, "resource_id": "CAL0000000000000000000000000000000002"}
    another = _post(mapped_client, clock, "calls", "msg_3", second_call).json()
    assert another["events"]["stored"] == [second_call["resource_id"]]
    timeline = _timeline(mapped_client, first["lead"]["lead_id"])
    assert [(e["type"], e["properties"]["duration_s"]) for e in timeline] == [
        ("call_inbound", 184),
        ("call_inbound", 184),
    ]


def test_a_webinar_participant_who_joins_twice_attended_once(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    joined = _sample("webinar")
    first = _post(mapped_client, clock, "webinars", "msg_1", joined).json()
    rejoined = copy.deepcopy(joined)
    rejoined["payload"]["object"]["participant"]["join_time"] = "2026-03-06T11:20:00Z"
    clock.advance(minutes=20)
    _post(mapped_client, clock, "webinars", "msg_2", rejoined)
    left = {**joined, "event": "webinar.participant_left"}
    assert _post(mapped_client, clock, "webinars", "msg_3", left).status_code == 200
    timeline = _timeline(mapped_client, first["lead"]["lead_id"])
    assert [e["type"] for e in timeline] == ["webinar_attended"]


def test_a_payload_that_does_not_fit_is_a_422_naming_the_json_path_and_stores_nothing(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    call = _sample("call-tracking")
    del call["resource_id"]
    call["customer_phone_number"] = "not a phone"
    missing = _post(mapped_client, clock, "calls", "msg_1", call)
    assert missing.status_code == 422
    [problem] = missing.json()["error"]["problems"]
    assert problem["field"] == "$.resource_id"
    fixed = {**call, "resource_id": "CAL1"}
    invalid = _post(mapped_client, clock, "calls", "msg_1", fixed)
    assert invalid.status_code == 422
    [problem] = invalid.json()["error"]["problems"]
    assert problem["field"] == "$.customer_phone_number"
    assert problem["message"].endswith("(`lead.phone`)")
    assert "not a phone" not in invalid.text
    not_json_object = _post(mapped_client, clock, "calls", "msg_2", [1, 2])
    assert not_json_object.status_code == 422
    assert mapped_client.get("/v1/leads").json()["items"] == []


def test_leadflows_own_shape_still_works_beside_mapped_sources(
    mapped_client: TestClient, clock: FakeClock
) -> None:
    own = {"lead": {"email": "sam@example.org"}, "events": [{"type": "form_submitted"}]}
    first = _post(mapped_client, clock, "forms", "msg_1", own)
    assert first.status_code == 201
    clock.advance(minutes=5)
    second = _post(mapped_client, clock, "forms", "msg_2", own).json()
    # an event without a time happens at receipt: its re-send is still one event
    assert second["events"]["stored"] == []
    assert second["events"]["duplicates"] == first.json()["events"]["stored"]


def test_a_zero_dedupe_window_keeps_every_re_sent_event(
    make_app: Callable[..., App], clock: FakeClock
) -> None:
    app = make_app(webhook_dedupe_hours=0)
    own = {"lead": {"email": "sam@example.org"}, "events": [{"type": "form_submitted"}]}
    with TestClient(create_app(app), base_url=LOCAL, raise_server_exceptions=False) as client:
        lead_id = _post(client, clock, "forms", "msg_1", own).json()["lead"]["lead_id"]
        clock.advance(minutes=5)
        _post(client, clock, "forms", "msg_2", own)
        assert len(_timeline(client, lead_id)) == 2


def test_a_broken_mapping_stops_the_start_naming_file_line_and_key(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    broken = tmp_path / "forms.yaml"
    broken.write_text("lead:\n  email: $.email\nevents:\n  - type: form_submited\n")
    with pytest.raises(SourceMappingError) as caught:
        make_app(webhook_mappings={"forms": str(broken)})
    assert f"{broken}:4:" in str(caught.value)
    assert "events[0].type" in str(caught.value)


def test_a_mapping_for_a_source_without_a_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="source `calls` has no secret"):
        Settings(webhook_mappings={"calls": "call-tracking"})
