"""One bad row is one bad row in ``leadflow import`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.tables import EventRow, LeadRow
from leadflow.entrypoints.cli import app


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    database.dispose()


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _import(url: str, *args: str | Path) -> Any:
    command = ["import", *(str(a) for a in args), "--database-url", url]
    return CliRunner().invoke(app, command)


def _rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_bad_created_at_and_an_oversized_value_reject_their_rows_and_their_events(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    big = "n" * (csv.field_size_limit() + 1)
    leads = _write(
        tmp_path / "leads.csv",
        "lead_id,first_name,notes,created_at\n"
        'L-1,Ana,"two\nlines",2026-03-01T10:00:00Z\n'
        "L-2,Bo,,03/32/2026\n"
        f"L-3,Cy,{big},2026-03-01T10:00:00Z\n"
        "L-4,Di,,2026-03-01T10:00:00Z\n",
    )
    events = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at\n"
        "E-1,L-1,form_submitted,2026-03-01T10:00:00Z\n"
        "E-2,L-2,form_submitted,2026-03-01T10:00:00Z\n"
        "E-3,L-3,page_viewed,2026-03-01T10:05:00Z\n"
        "E-4,NOBODY,page_viewed,2026-03-01T10:05:00Z\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _import(database_url, leads, "--events", events, "--rejects", rejects)
    assert result.exit_code == 1, result.stderr
    assert "leads 2 created" in result.stderr
    assert "events 1 stored" in result.stderr
    assert "5 rows rejected" in result.stderr
    found = {(r["source"], r["row"], r["record_id"], r["field"]) for r in _rejects(rejects)}
    assert found == {
        ("leads.csv", 2, "L-2", "created_at"),
        ("leads.csv", 3, "L-3", "notes"),
        ("events.csv", 2, "E-2", "lead_id"),
        ("events.csv", 3, "E-3", "lead_id"),
        ("events.csv", 4, "E-4", "lead_id"),
    }
    messages = {r["record_id"]: r["message"] for r in _rejects(rejects)}
    assert "its lead `L-2` was rejected (leads.csv row 2)" in messages["E-2"]
    assert "its lead `L-3` was rejected (leads.csv row 3)" in messages["E-3"]
    assert "was rejected" not in messages["E-4"]
    assert "leads.csv row 3 (L-3): field `notes`: longer than the CSV limit" in result.stderr
    with db.read() as session:
        assert sorted(session.scalars(select(LeadRow.id))) == ["L-1", "L-4"]
        assert list(session.scalars(select(EventRow.event_id))) == ["E-1"]
