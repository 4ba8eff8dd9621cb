"""One bad row is one bad row: oversized values, quoted newlines and the row numbers of CSV files.

Row N is the Nth data row (what a spreadsheet shows as row N + 1): the header is not
counted, a quoted value spanning several lines is still one row, a blank line is a row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from zoneinfo import ZoneInfo

from leadflow.adapters.records import load_mapping, read_events, read_leads
from leadflow.adapters.records.recode import Recoding
from leadflow.adapters.records.sources import iter_rows, open_records
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.errors import RecordProblem

LIMIT = csv.field_size_limit()


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _ids(items: list[object]) -> list[str]:
    return [i.lead_id for i in items if isinstance(i, LeadProfile)]


def _problems(items: list[object]) -> list[RecordProblem]:
    return [i for i in items if isinstance(i, RecordProblem)]


def test_a_value_over_the_csv_size_limit_rejects_only_its_row(tmp_path: Path) -> None:
    big = "x" * (LIMIT + 10)
    path = _write(tmp_path / "leads.csv", f"lead_id,notes\nL-1,ok\nL-2,{big}\nL-3,fine\n")
    items = list(read_leads(path))
    assert _ids(items) == ["L-1", "L-3"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (2, "L-2", "notes")
    assert f"{LIMIT}" in problem.message
    assert "x" * 20 not in problem.message


def test_an_oversized_quoted_value_over_several_lines_rejects_only_its_row(
    tmp_path: Path,
) -> None:
    big = ("y" * 1000 + "\r\n") * (LIMIT // 1000 + 2)
    text = f'lead_id,notes,state\r\nL-1,"a\r\nb",MA\r\nL-2,"{big}",NH\r\nL-3,"c,d",RI\r\n'
    items = list(read_leads(_write(tmp_path / "leads.csv", text)))
    assert _ids(items) == ["L-1", "L-3"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (2, "L-2", "notes")
    [l1, l3] = [i for i in items if isinstance(i, LeadProfile)]
    assert l1.notes == "a\r\nb"
    assert (l3.notes, l3.state) == ("c,d", "RI")


def test_rows_after_a_quoted_newline_keep_their_data_row_numbers(tmp_path: Path) -> None:
    text = (
        "lead_id,notes,created_at\n"
        'L-1,"line one\nline two\nline three",2026-03-01T10:00:00Z\n'
        "L-2,,not a date\n"
        "\n"
        "L-4,,2026-03-01\n"
    )
    items = list(read_leads(_write(tmp_path / "leads.csv", text)))
    assert _ids(items) == ["L-1", "L-4"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (2, "L-2", "created_at")


def test_a_quote_left_open_rejects_its_row_and_says_so(tmp_path: Path) -> None:
    text = 'lead_id,notes\nL-1,ok\nL-2,"never closed\nL-3,lost inside the value\n'
    items = list(read_leads(_write(tmp_path / "leads.csv", text)))
    assert _ids(items) == ["L-1"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (2, "L-2", "notes")
    assert "not closed" in problem.message


def test_an_oversized_event_property_rejects_only_that_event(tmp_path: Path) -> None:
    big = "z" * (LIMIT + 1)
    text = (
        "event_id,lead_id,type,occurred_at,note\n"
        f"E-1,L-1,form_submitted,2026-03-01T10:00:00Z,{big}\n"
        "E-2,L-1,form_submitted,2026-03-01T11:00:00Z,short\n"
    )
    items = list(read_events(_write(tmp_path / "events.csv", text)))
    assert [i.event_id for i in items if isinstance(i, Event)] == ["E-2"]
    [problem] = _problems(items)
    assert (problem.row, problem.record_id, problem.field) == (1, "E-1", "note")


def test_semicolon_separated_files_are_read_like_comma_separated_ones(tmp_path: Path) -> None:
    text = '\ufefflead_id;first_name;notes\r\nL-1;Ana;"a;b"\r\nL-2;Bo;\r\n\r\n'
    items = list(read_leads(_write(tmp_path / "leads.csv", text)))
    [first, second] = [i for i in items if isinstance(i, LeadProfile)]
    assert (first.lead_id, first.first_name, first.notes) == ("L-1", "Ana", "a;b")
    assert (second.lead_id, second.first_name) == ("L-2", "Bo")
    assert _problems(items) == []


def test_a_mapping_recodes_values_and_dates_before_parsing(tmp_path: Path) -> None:
    mapping = load_mapping(
        _write(
            tmp_path / "m.yaml",
            "leads:\n  Id | Record ID: lead_id\n  Src: source\n  When: created_at\n"
            "values:\n  leads:\n    source:\n"
            "      Organic search: {source: organic_search, channel: organic_search}\n"
            "dates:\n  formats: ['%m/%d/%Y %I:%M %p']\n  time_zone: required\n",
        )
    )
    assert mapping.dates.zone_required
    leads = _write(
        tmp_path / "leads.csv",
        "Record ID,Src,When\nL-1,ORGANIC_SEARCH,3/1/2026 10:00 AM\nL-2,Other,2026-03-01\n",
    )
    recoding = Recoding(mapping.lead_values, mapping.dates.formats, ZoneInfo("America/New_York"))
    file = open_records(leads, mapping.leads, ("lead_id",), recoding)
    rows = [record for _row, record in iter_rows(file)]  # type: ignore[misc]
    assert rows[0]["source"] == "organic_search"
    assert rows[0]["channel"] == "organic_search"
    assert rows[0]["created_at"] == "2026-03-01T10:00:00-05:00"
    assert rows[1]["source"] == "Other"  # a value the map does not list is kept
    assert rows[1]["created_at"] == "2026-03-01T00:00:00-05:00"


def test_without_a_time_zone_naive_times_are_utc_and_counted() -> None:
    recoding = Recoding()
    record: dict[str, object] = {"created_at": "2026-03-01 10:00", "occurred_at": "2026-03-01Z"}
    recoding.apply(record)
    assert record["created_at"] == "2026-03-01T10:00:00+00:00"
    assert recoding.naive_as_utc == 1
