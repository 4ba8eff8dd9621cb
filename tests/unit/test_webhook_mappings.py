"""Webhook source mappings: the path syntax, loading with located errors, and applying."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from leadflow.adapters.webhooks.mapped import apply_mapping
from leadflow.adapters.webhooks.mapping import (
    CONSENT_TARGETS,
    load_mapping,
    load_mapping_text,
    shipped_mappings,
)
from leadflow.adapters.webhooks.paths import MISSING, JsonPathError, parse_path
from leadflow.entrypoints.api.routes_webhooks import WebhookIn
from leadflow.entrypoints.api.schemas import ConsentEvidenceIn
from leadflow.errors import InvalidRecordError, SourceMappingError

DOC = {
    "a": {"b": [10, 20, {"c": "x"}], "odd key": 1, "1.3": "dotted"},
    "answers": [
        {"field": {"ref": "first_name"}, "text": "Ann"},
        {"field": {"ref": "email"}, "email": "ann@example.com"},
        {"field": {"ref": "n"}, "flag": 1},
    ],
}


def _sample(name: str) -> Any:
    return json.loads((files("leadflow") / "samples" / "webhooks" / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a.b[0]", 10),
        ("$.a.b[-1].c", "x"),
        ("$.a['odd key']", 1),
        ('$.a["1.3"]', "dotted"),
        ("$.answers[?(@.field.ref == 'email')].email", "ann@example.com"),
        ('$.answers[?(@.field.ref=="first_name")].text', "Ann"),
        ("$.answers[?(@.flag == 1)].field.ref", "n"),
        ("$.a.b[3]", MISSING),
        ("$.a.missing.deeper", MISSING),
        ("$.answers[?(@.flag == true)]", MISSING),
        ("$.a.b.c", MISSING),
    ],
)
def test_a_path_selects_one_value_or_nothing(path: str, expected: object) -> None:
    assert parse_path(path).find(DOC) == expected


@pytest.mark.parametrize(
    ("path", "column"),
    [("a.b", 1), ("$.", 3), ("$.a[x]", 4), ("$.a[?(@.b == nope)]", 14), ("$..a", 3)],
)
def test_a_path_that_does_not_parse_names_its_column(path: str, column: int) -> None:
    with pytest.raises(JsonPathError) as caught:
        parse_path(path)
    assert caught.value.column == column


def test_every_shipped_mapping_turns_its_sample_payload_into_a_valid_delivery() -> None:
    assert shipped_mappings() == ["call-tracking", "web-form", "webinar"]
    for name in shipped_mappings():
        body = apply_mapping(load_mapping(name), _sample(name)).body
        delivery = WebhookIn.model_validate(body)
        assert delivery.lead is not None
        assert len(delivery.events) == 1


def test_the_web_form_mapping_reads_answers_by_ref_and_maps_choice_labels() -> None:
    body = apply_mapping(load_mapping("web-form"), _sample("web-form")).body
    assert body["lead"]["email"] == "riley.quinn@example.com"
    assert body["lead"]["state"] == "MA"
    assert body["lead"]["service_line"] == "cardiology"
    assert body["lead"]["consent_email"] is True
    assert body["lead"]["consent"] == {
        "method": "web_form_checkbox",
        "page_url": "https://www.example.com/cardiology/heart-check",
    }
    assert body["events"][0]["occurred_at"] == "2026-03-06T11:58:00+00:00"
    assert body["events"][0]["properties"]["form"] == "nwHeart1"


def test_the_call_mapping_splits_the_caller_name_and_keeps_the_call_id() -> None:
    body = apply_mapping(load_mapping("call-tracking"), _sample("call-tracking")).body
    assert (body["lead"]["first_name"], body["lead"]["last_name"]) == ("Morgan", "Ellis")
    event = body["events"][0]
    assert event["event_id"] == "CAL8154748ae6bd4e278a7cddd38a662f4f"
    assert event["properties"]["duration_s"] == 184
    assert event["occurred_at"] == "2026-03-06T06:41:07-05:00"


def test_an_event_whose_condition_does_not_hold_is_not_made() -> None:
    payload = {**_sample("webinar"), "event": "webinar.participant_left"}
    body = apply_mapping(load_mapping("webinar"), payload).body
    assert body["events"] == []
    assert body["lead"]["email"] == "dana.whitfield@example.com"


def test_a_payload_that_does_not_fit_names_every_json_path_and_no_value() -> None:
    payload = _sample("call-tracking")
    del payload["customer_phone_number"]
    payload["duration"] = {"seconds": 184}
    payload["start_time"] = "yesterday at nine"
    with pytest.raises(InvalidRecordError) as caught:
        apply_mapping(load_mapping("call-tracking"), payload)
    found = {(p.field, p.message) for p in caught.value.problems}
    assert found == {
        ("$.customer_phone_number", "missing, and the mapping requires it (`lead.phone`)"),
        ("$.start_time", "not a time in the `iso8601` format (`occurred_at`)"),
        ("$.duration", "expected one value, found an object (`properties.duration_s`)"),
    }
    assert "yesterday" not in str(caught.value)


def test_times_in_unix_seconds_millis_and_a_pattern_with_a_zone() -> None:
    mapping = load_mapping_text(
        """
events:
  - type: page_viewed
    occurred_at: {path: $.s, format: unix}
  - type: page_viewed
    occurred_at: {path: $.ms, format: unix_ms}
  - type: page_viewed
    occurred_at: {path: $.local, format: "%m/%d/%Y %H:%M", timezone: America/New_York}
""",
        "times.yaml",
    )
    body = apply_mapping(
        mapping, {"s": 1772798400, "ms": "1772798400500", "local": "03/06/2026 07:00"}
    ).body
    assert [e["occurred_at"] for e in body["events"]] == [
        "2026-03-06T12:00:00+00:00",
        "2026-03-06T12:00:00.500000+00:00",
        "2026-03-06T07:00:00-05:00",
    ]


def test_a_mapping_with_mistakes_names_the_file_line_and_key_of_each() -> None:
    text = """lead:
  emial: $.email
  phone: $.phone[x]
events:
  - type: form_submited
    occurred_at: {path: $.at, format: rfc822, timezone: Mars/Olympus}
"""
    with pytest.raises(SourceMappingError) as caught:
        load_mapping_text(text, "forms.yaml")
    found = [(p.file, p.line, p.path) for p in caught.value.problems]
    assert found == [
        ("forms.yaml", 2, "lead"),
        ("forms.yaml", 3, "lead.phone"),
        ("forms.yaml", 5, "events[0].type"),
        ("forms.yaml", 6, "events[0].occurred_at.format"),
        ("forms.yaml", 6, "events[0].occurred_at.timezone"),
    ]
    assert "forms.yaml:2:3: lead: unknown field `emial` (did you mean `email`?)" in str(
        caught.value
    )
    assert "did you mean `form_submitted`" in str(caught.value)


def test_a_mapped_lead_needs_an_identity() -> None:
    with pytest.raises(SourceMappingError, match="no identity"):
        load_mapping_text("lead:\n  first_name: $.name\n", "anon.yaml")


def test_an_unknown_shipped_mapping_suggests_the_close_name() -> None:
    with pytest.raises(SourceMappingError, match="did you mean `webinar`"):
        load_mapping("webinars")


def test_consent_targets_are_the_api_consent_evidence_fields() -> None:
    assert set(CONSENT_TARGETS) == set(ConsentEvidenceIn.model_fields)


def test_the_full_mapping_in_the_docs_is_the_shipped_web_form() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    example = doc.split("The whole `web-form` mapping:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    shipped = (files("leadflow") / "samples" / "webhooks" / "web-form.yaml").read_text()
    assert example == "".join(
        line for line in shipped.splitlines(keepends=True) if not line.startswith("#")
    )
