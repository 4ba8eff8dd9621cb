"""Reading lead and event records from CSV and JSON Lines, with located problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadflow.adapters.records import (
    RecordWarning,
    finding_record,
    read_events,
    read_leads,
)
from leadflow.domain.events import Event, EventType
from leadflow.domain.profile import LeadProfile
from leadflow.errors import RecordProblem


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, *records: object) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in records))


def _leads(items: list[object]) -> list[LeadProfile]:
    return [i for i in items if isinstance(i, LeadProfile)]


def _events(items: list[object]) -> list[Event]:
    return [i for i in items if isinstance(i, Event)]


def _problems(items: list[object]) -> list[RecordProblem]:
    return [i for i in items if isinstance(i, RecordProblem)]


def _warnings(items: list[object]) -> list[RecordWarning]:
    return [i for i in items if isinstance(i, RecordWarning)]


LEADS_HEADER = "lead_id,first_name,email,phone,state,country,created_at,consent_email,Clinic\n"
EVENTS_HEADER = "event_id,lead_id,type,occurred_at,url,need_confirmed,duration_s,channel\n"


# --- leads ------------------------------------------------------------------------------


def test_lead_row_fills_canonical_fields_and_keeps_unknown_columns_as_custom(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "leads.csv",
        LEADS_HEADER + "L-1,Ada,ada@example.com,(617) 555-0142,MA,US,2026-03-02,yes,Cambridge\n",
    )
    [lead] = list(read_leads(path))
    assert isinstance(lead, LeadProfile)
    assert lead.lead_id == "L-1"
    assert lead.first_name == "Ada"
    assert lead.state == "MA"
    assert lead.consent_email is True
    assert dict(lead.custom) == {"Clinic": "Cambridge"}


def test_empty_cells_become_none_and_empty_custom_columns_are_left_out(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", LEADS_HEADER + "L-1,  ,,,,,,,\n")
    [lead] = list(read_leads(path))
    assert isinstance(lead, LeadProfile)
    assert lead.first_name is None
    assert lead.email is None
    assert lead.consent_email is None
    assert dict(lead.custom) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02", datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-03-02T14:30:00", datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
        ("2026-03-02T14:30:00Z", datetime(2026, 3, 2, 14, 30, tzinfo=UTC)),
        (
            "2026-03-02T14:30:00-05:00",
            datetime(2026, 3, 2, 14, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ],
)
def test_created_at_is_iso_8601_with_dates_at_midnight_and_naive_times_in_utc(
    tmp_path: Path, text: str, expected: datetime
) -> None:
    path = _write(tmp_path / "leads.csv", f"lead_id,created_at\nL-1,{text}\n")
    [lead] = list(read_leads(path))
    assert isinstance(lead, LeadProfile)
    assert lead.created_at == expected
    assert lead.created_at is not None
    assert lead.created_at.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        *[("true", True), ("YES", True), ("y", True), ("1", True)],
        *[("False", False), ("no", False), ("N", False), ("0", False)],
    ],
)
def test_consent_flags_accept_the_usual_yes_and_no_words(
    tmp_path: Path, word: str, expected: bool
) -> None:
    path = _write(tmp_path / "leads.csv", f"lead_id,consent_sms\nL-1,{word}\n")
    [lead] = list(read_leads(path))
    assert isinstance(lead, LeadProfile)
    assert lead.consent_sms is expected


def test_a_bad_value_rejects_the_row_with_one_problem_per_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "leads.csv",
        LEADS_HEADER
        + "L-1,Ada,,,MA,US,2026-03-02,yes,\n"
        + "L-2,Bea,,,MA,US,last tuesday,maybe,\n"
        + "L-3,Cy,,,MA,US,,no,\n",
    )
    items = list(read_leads(path))
    assert [lead.lead_id for lead in _leads(items)] == ["L-1", "L-3"]
    problems = _problems(items)
    assert [(p.row, p.record_id, p.field) for p in problems] == [
        (2, "L-2", "created_at"),
        (2, "L-2", "consent_email"),
    ]
    assert str(problems[0]) == (
        "leads.csv row 2 (L-2): field `created_at`: expected an ISO-8601 date-time "
        "(e.g. 2026-03-02T14:30:00Z)"
    )


def test_a_repeated_lead_id_is_rejected_naming_the_first_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id\nL-1\nL-2\nL-1\n")
    items = list(read_leads(path))
    assert [lead.lead_id for lead in _leads(items)] == ["L-1", "L-2"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (3, "L-1", "lead_id")
    assert "first at row 1" in problem.message


def test_a_row_without_lead_id_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id,state\n,MA\n")
    [problem] = list(read_leads(path))
    assert isinstance(problem, RecordProblem)
    assert (problem.row, problem.record_id, problem.field) == (1, None, "lead_id")


def test_email_and_phone_are_normalised(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "leads.csv",
        "lead_id,email,phone,country\n"
        "L-1,Ada.Lovelace@Example.COM,(617) 555-0142,\n"
        "L-2,bea@example.com,020 7946 0958,gb\n",
    )
    first, second = _leads(list(read_leads(path)))
    assert first.email == "Ada.Lovelace@example.com"
    assert first.phone == "+16175550142"
    assert second.phone == "+442079460958"


def test_an_invalid_email_or_phone_is_dropped_with_a_warning_and_the_lead_is_kept(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id,email,phone\nL-1,ada-at-example,555-0142\n")
    items = list(read_leads(path))
    [lead] = _leads(items)
    assert lead.email is None
    assert lead.phone is None
    assert _problems(items) == []
    warnings = _warnings(items)
    assert [(w.problem.row, w.problem.field) for w in warnings] == [(1, "email"), (1, "phone")]
    assert str(warnings[0]).startswith("warning: leads.csv row 1 (L-1): field `email`:")
    assert finding_record(warnings[0])["severity"] == "warning"


def test_problem_messages_never_quote_contact_values(tmp_path: Path) -> None:
    secrets = ["Zebedee", "zebedee@@example.com", "555-0199", "Private note"]
    path = _write(
        tmp_path / "leads.csv",
        "lead_id,first_name,email,phone,notes,created_at,consent_email\n"
        f"L-1,{secrets[0]},{secrets[1]},{secrets[2]},{secrets[3]},soon,perhaps\n",
    )
    text = "\n".join(str(item) for item in read_leads(path))
    assert "L-1" in text
    for secret in secrets:
        assert secret not in text


def test_row_numbers_count_data_rows_from_one_including_blank_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id,consent_sms\nL-1,yes\n\n,,\nL-4,maybe\n")
    [problem] = _problems(list(read_leads(path)))
    assert problem.row == 4


def test_a_csv_row_with_more_cells_than_the_header_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id,state\nL-1,MA,extra\nL-2,NH\n")
    items = list(read_leads(path))
    assert [lead.lead_id for lead in _leads(items)] == ["L-2"]
    [problem] = _problems(items)
    assert problem.row == 1
    assert "3 cells" in problem.message


def test_json_lines_leads_accept_json_types(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "leads.jsonl",
        {"lead_id": "L-1", "consent_email": True, "postal_code": 2139, "tags": ["a", "b"]},
        {"lead_id": "L-2", "consent_email": None, "state": ""},
    )
    first, second = _leads(list(read_leads(path)))
    assert first.consent_email is True
    assert first.postal_code == "2139"
    assert first.custom["tags"] == '["a","b"]'
    assert second.consent_email is None
    assert second.state is None


# --- events -----------------------------------------------------------------------------


def test_event_columns_become_properties_and_known_ones_get_their_kind(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        EVENTS_HEADER
        + "E-1,L-1,discovery_completed,2026-03-02T10:00:00Z,,Yes,,\n"
        + "E-2,L-1,call_inbound,2026-03-02T11:00:00Z,,,95,\n"
        + "E-3,L-1,page_viewed,2026-03-02,/schedule,,,\n",
    )
    first, second, third = _events(list(read_events(path)))
    assert first.type is EventType.DISCOVERY_COMPLETED
    assert dict(first.properties) == {"need_confirmed": True}
    assert dict(second.properties) == {"duration_s": 95}
    assert dict(third.properties) == {"url": "/schedule"}
    assert third.occurred_at == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_bad_known_property_rejects_the_row_naming_the_property(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        EVENTS_HEADER
        + "E-1,L-1,discovery_completed,2026-03-02,,perhaps,,\n"
        + "E-2,L-1,call_inbound,2026-03-02,,,long,\n"
        + "E-3,L-1,unsubscribed,2026-03-02,,,,fax\n"
        + "E-4,L-1,unsubscribed,2026-03-02,,,,Email\n",
    )
    items = list(read_events(path))
    assert [(p.record_id, p.field) for p in _problems(items)] == [
        ("E-1", "properties.need_confirmed"),
        ("E-2", "properties.duration_s"),
        ("E-3", "properties.channel"),
    ]
    [kept] = _events(items)
    assert kept.prop("channel") == "email"


def test_an_unknown_event_type_is_rejected_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", EVENTS_HEADER + "E-1,L-1,page_view,2026-03-02,,,,\n")
    [problem] = list(read_events(path))
    assert isinstance(problem, RecordProblem)
    assert problem.field == "type"
    assert "did you mean `page_viewed`?" in problem.message


def test_event_types_are_matched_regardless_of_case(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv", EVENTS_HEADER + "E-1,L-1,Form_Submitted,2026-03-02,,,,\n"
    )
    [event] = list(read_events(path))
    assert isinstance(event, Event)
    assert event.type is EventType.FORM_SUBMITTED


def test_every_missing_required_event_field_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", EVENTS_HEADER + ",,,,,,,\n" + ",,,,/x,,,\n")
    problems = _problems(list(read_events(path)))
    assert [(p.row, p.field) for p in problems] == [
        (2, "event_id"),
        (2, "lead_id"),
        (2, "type"),
        (2, "occurred_at"),
    ]


def test_a_repeated_event_id_is_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        EVENTS_HEADER + "E-1,L-1,form_submitted,2026-03-02,,,,\n"
        "E-1,L-2,form_submitted,2026-03-03,,,,\n",
    )
    items = list(read_events(path))
    assert len(_events(items)) == 1
    [problem] = _problems(items)
    assert (problem.row, problem.field) == (2, "event_id")


def test_json_lines_events_merge_nested_properties_with_flat_ones(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "events.jsonl",
        {
            "event_id": "E-1",
            "lead_id": "L-1",
            "type": "discovery_completed",
            "occurred_at": "2026-03-02T10:00:00+01:00",
            "properties": {"need_confirmed": "no", "next_step": "call back", "timeline": ""},
            "need_confirmed": True,
            "extra": 3,
        },
    )
    [event] = list(read_events(path))
    assert isinstance(event, Event)
    assert dict(event.properties) == {"need_confirmed": True, "next_step": "call back", "extra": 3}


def test_a_csv_properties_column_holds_a_json_object(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at,properties\n"
        'E-1,L-1,page_viewed,2026-03-02,"{""page_category"": ""scheduling""}"\n'
        "E-2,L-1,page_viewed,2026-03-02,[1]\n",
    )
    items = list(read_events(path))
    [event] = _events(items)
    assert event.prop("page_category") == "scheduling"
    [problem] = _problems(items)
    assert (problem.row, problem.field) == (2, "properties")


def test_profile_updated_events_carry_normalised_lead_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at,email,phone,consent_sms,state\n"
        "E-1,L-1,profile_updated,2026-03-02,New@Example.com,617 555 0142,yes,NH\n"
        "E-2,L-1,profile_updated,2026-03-03,,12,,\n"
        "E-3,L-1,profile_updated,2026-03-04,,,sometimes,\n",
    )
    items = list(read_events(path))
    first, second = _events(items)
    assert dict(first.properties) == {
        "email": "New@example.com",
        "phone": "+16175550142",
        "consent_sms": True,
        "state": "NH",
    }
    assert dict(second.properties) == {}
    [warning] = _warnings(items)
    assert warning.problem.field == "properties.phone"
    [problem] = _problems(items)
    assert (problem.row, problem.field) == (3, "properties.consent_sms")


# --- whole files and mappings -----------------------------------------------------------
