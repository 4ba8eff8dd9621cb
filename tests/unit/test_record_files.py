"""Record files as a whole: missing, unknown or headerless files, JSON Lines that are not
objects, column mappings, and characters a row may not hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadflow.adapters.records import ColumnMapping, load_mapping, read_events, read_leads
from leadflow.domain.events import Event, EventType
from leadflow.domain.profile import LeadProfile
from leadflow.errors import InputFileError, RecordProblem


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, *records: object) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in records))


def test_a_missing_file_is_an_input_file_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nowhere\.csv: file not found"):
        read_leads(tmp_path / "nowhere.csv")


def test_an_unknown_extension_is_an_input_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.txt", "lead_id\nL-1\n")
    with pytest.raises(InputFileError, match=r"unknown file type `\.txt`"):
        read_leads(path)


def test_an_empty_csv_file_has_no_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "")
    with pytest.raises(InputFileError, match="needs a header row"):
        read_leads(path)


def test_a_header_without_the_required_column_suggests_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "Lead ID,Email\nL-1,ada@example.com\n")
    with pytest.raises(InputFileError, match="`Lead ID` looks like `lead_id`"):
        read_leads(path)


def test_a_headerless_csv_is_refused_without_quoting_its_first_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", "E-1,L-1,form_submitted,2026-03-02\n")
    with pytest.raises(InputFileError, match="is the header row missing") as caught:
        read_events(path)
    assert "E-1" not in str(caught.value)


def test_a_repeated_header_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "leads.csv", "lead_id,email,email\nL-1,,\n")
    with pytest.raises(InputFileError, match="`email` appears twice"):
        read_leads(path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [("[1, 2]", "line 2: expected a JSON object, found list"), ("{oops", "line 2: not valid JSON")],
)
def test_a_json_line_that_is_not_an_object_stops_the_file_naming_the_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = _write(tmp_path / "leads.jsonl", '{"lead_id": "L-1"}\n' + line + "\n")
    items = read_leads(path)
    assert isinstance(next(items), LeadProfile)
    with pytest.raises(InputFileError, match=expected):
        next(items)


def test_a_mapping_renames_source_columns_before_parsing(tmp_path: Path) -> None:
    mapping_file = _write(
        tmp_path / "mapping.yaml",
        "leads:\n  Lead Number: lead_id\n  Email Address: email\n  Clinic: custom.clinic\n"
        "events:\n  Activity: type\n  When: occurred_at\n  Code: properties.code\n",
    )
    mapping = load_mapping(mapping_file)
    leads = _write(
        tmp_path / "leads.csv", "Lead Number,Email Address,Clinic\nL-1,a@example.com,X\n"
    )
    [lead] = list(read_leads(leads, mapping.leads))
    assert isinstance(lead, LeadProfile)
    assert (lead.lead_id, lead.email, dict(lead.custom)) == (
        "L-1",
        "a@example.com",
        {"clinic": "X"},
    )
    events = _jsonl(
        tmp_path / "events.jsonl",
        {"event_id": "E-1", "lead_id": "L-1", "Activity": "chat_started", "When": "2026-03-02"}
        | {"Code": "Q1"},
    )
    [event] = list(read_events(events, mapping.events))
    assert isinstance(event, Event)
    assert event.type is EventType.CHAT_STARTED
    assert dict(event.properties) == {"code": "Q1"}


def test_a_json_mapping_file_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path / "mapping.json", json.dumps({"leads": {"Id": "lead_id"}}))
    assert load_mapping(path) == ColumnMapping({"Id": "lead_id"}, {})


def test_a_mapping_to_an_unknown_field_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mapping.yaml",
        "leads:\n  Mail: emial\n  A: state\n  B: state\nevents:\n  Kind: typ\nextra: {}\n",
    )
    with pytest.raises(InputFileError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert "`Mail`: unknown lead field `emial`; did you mean `email`?" in message
    assert "`B` and `A` both map to `state`" in message
    assert "unknown event field or property `typ`; did you mean `type`?" in message
    assert "unknown section `extra`" in message


def test_a_mapped_json_key_that_clashes_with_a_canonical_one_rejects_the_row(
    tmp_path: Path,
) -> None:
    path = _jsonl(
        tmp_path / "leads.jsonl", {"lead_id": "L-1", "Mail": "a@example.com", "email": ""}
    )
    [problem] = list(read_leads(path, {"Mail": "email"}))
    assert isinstance(problem, RecordProblem)
    assert problem.field == "email"


def test_a_nul_character_rejects_the_row_naming_the_field(tmp_path: Path) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(
        json.dumps({"lead_id": "L1", "first_name": "Ro\u0000bin"})
        + "\n"
        + json.dumps({"lead_id": "L2", "first_name": "Robin"})
        + "\n",
        encoding="utf-8",
    )
    items = list(read_leads(leads))
    problems = [i for i in items if isinstance(i, RecordProblem)]
    assert [(p.row, p.field) for p in problems] == [(1, "first_name")]
    assert "NUL" in problems[0].message
    assert [i.lead_id for i in items if isinstance(i, LeadProfile)] == ["L2"]

    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {
                "event_id": "E1",
                "lead_id": "L2",
                "type": "page_viewed",
                "occurred_at": "2026-03-01T10:00:00Z",
                "properties": {"url": "/a\u0000"},
            }
        )
        + "\n"
        + json.dumps(
            {
                "event_id": "E\u00002",
                "lead_id": "L2",
                "type": "page_viewed",
                "occurred_at": "2026-03-01T10:00:00Z",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    found = [i for i in read_events(events) if isinstance(i, RecordProblem)]
    assert [(p.row, p.field) for p in found] == [(1, "properties.url"), (2, "event_id")]
