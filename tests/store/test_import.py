"""``leadflow import`` and ``leadflow export`` against the lead store (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.export import EXPORT_COLUMNS
from leadflow.adapters.db.imports import run_id, save_progress
from leadflow.adapters.db.tables import (
    AuditRow,
    ConsentRow,
    DecisionQueueRow,
    DecisionRow,
    EventRow,
    IdentityRow,
    ImportRunRow,
    LeadRow,
    StageChangeRow,
)
from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.entrypoints.cli import app
from leadflow.samples import sample_path

TABLES = (LeadRow, EventRow, DecisionRow, IdentityRow, ConsentRow, StageChangeRow, AuditRow)
START = "2026-03-06T12:00:00Z"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    database.dispose()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _import(runner: CliRunner, url: str, *args: str | Path) -> Any:
    return runner.invoke(app, ["import", *(str(a) for a in args), "--database-url", url])


def _counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


SAMPLE_LEADS = Path(str(sample_path("leads.csv")))
SAMPLES = (SAMPLE_LEADS, "--events", Path(str(sample_path("events.csv"))))


def test_importing_the_samples_stores_13_leads_and_47_events_with_decisions(
    runner: CliRunner, database_url: str, db: Database
) -> None:
    result = _import(runner, database_url, *SAMPLES)
    assert result.exit_code == 0, result.stderr
    counts = _counts(db)
    assert counts["leads"] == 13
    assert counts["events"] == 47
    assert counts["decisions"] == 13
    assert "leads 13 created, 0 matched; events 47 stored, 0 duplicates" in result.stderr
    assert "0 rows rejected" in result.stderr
    with db.read() as session:
        sources = set(session.scalars(select(EventRow.source)))
        actors = set(session.scalars(select(EventRow.actor)))
        runs = sorted(
            (r.kind, r.rows_done, r.finished) for r in session.scalars(select(ImportRunRow))
        )
    assert sources == {"import:events.csv"}
    assert actors == {"cli:import"}
    assert runs == [
        ("events", 47, True),
        ("leads", 13, True),
    ]


def test_a_second_run_says_already_imported_and_changes_nothing(
    runner: CliRunner, database_url: str, db: Database
) -> None:
    assert _import(runner, database_url, *SAMPLES).exit_code == 0
    before = _counts(db)
    again = _import(runner, database_url, *SAMPLES)
    assert again.exit_code == 0, again.stderr
    assert "leads.csv: already imported" in again.stderr
    assert "events.csv: already imported" in again.stderr
    assert _counts(db) == before


def test_leads_left_queued_by_a_run_stopped_while_deciding_are_decided_when_run_again(
    runner: CliRunner, database_url: str, db: Database
) -> None:
    assert _import(runner, database_url, *SAMPLES).exit_code == 0
    with db.unit_of_work() as store:  # as if the run had died before deciding two leads
        store.session.add_all(
            DecisionQueueRow(
                lead_id=lead, event_id=None, queued_at=datetime.now(UTC), actor="cli:import"
            )
            for lead in ("NW-1001", "NW-1002")
        )
        store.commit()
    again = _import(runner, database_url, *SAMPLES)
    assert again.exit_code == 0, again.stderr
    assert "leads.csv: already imported" in again.stderr
    assert "decided 2 leads" in again.stderr
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(DecisionQueueRow)) == 0
    assert _counts(db)["decisions"] == 13


def test_rows_stored_again_without_the_checkpoint_change_nothing(
    runner: CliRunner, database_url: str, db: Database
) -> None:
    assert _import(runner, database_url, *SAMPLES).exit_code == 0
    before = _counts(db)
    with db.unit_of_work() as store:  # forget the checkpoints: every row is stored again
        store.session.execute(delete(ImportRunRow))
        store.commit()
    again = _import(runner, database_url, *SAMPLES)
    assert again.exit_code == 0, again.stderr
    assert "leads 0 created, 13 matched; events 0 stored, 47 duplicates" in again.stderr
    after = _counts(db)
    for table in ("leads", "events", "decisions", "identities", "consents"):
        assert after[table] == before[table], table


def test_a_killed_run_resumes_after_the_last_committed_row(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    leads = SAMPLE_LEADS
    first = _import(runner, database_url, leads, "--batch-size", "5")
    assert first.exit_code == 0
    with db.unit_of_work() as store:  # as if the run had died after its first batch
        store.session.execute(delete(EventRow).where(EventRow.lead_id > "NW-1005"))
        for table in (StageChangeRow, ConsentRow, IdentityRow, DecisionRow):
            store.session.execute(delete(table).where(table.lead_id > "NW-1005"))
        store.session.execute(delete(LeadRow).where(LeadRow.id > "NW-1005"))
        store.session.execute(delete(ImportRunRow))
        save_progress(
            store,
            run_id(leads, "leads", {}),
            kind="leads",
            path=str(leads),
            rows_done=5,
            finished=False,
            at=datetime.now(UTC),
        )
        store.commit()
    again = _import(runner, database_url, leads, "--batch-size", "5")
    assert again.exit_code == 0, again.stderr
    assert "leads.csv: resuming at row 6" in again.stderr
    assert "leads 8 created, 0 matched" in again.stderr
    assert _counts(db)["leads"] == 13


def test_bad_rows_are_rejected_by_row_and_field_and_the_good_rows_are_stored(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    leads = _write(
        tmp_path / "leads.csv",
        "lead_id,email,created_at,consent_email,state\n"
        f"L-1,one@example.com,{START},yes,MA\n"
        "L-2,secret.two@example.com,not a date,yes,MA\n"
        f"L-3,three@example.com,{START},maybe,NH\n"
        f"L-4,four@example.com,{START},no,RI\n"
        f"L-1,again@example.com,{START},yes,MA\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _import(runner, database_url, leads, "--rejects", rejects, "--batch-size", "2")
    assert result.exit_code == 1
    found = {(r["row"], r["record_id"], r["field"]) for r in _rejects(rejects)}
    assert found == {(2, "L-2", "created_at"), (3, "L-3", "consent_email"), (5, "L-1", "lead_id")}
    text = rejects.read_text(encoding="utf-8") + result.stderr
    assert "secret.two" not in text
    assert "again@" not in text
    assert "3 rows rejected" in result.stderr
    with db.read() as session:
        assert sorted(session.scalars(select(LeadRow.id))) == ["L-1", "L-4"]


def test_an_event_for_an_unknown_lead_is_rejected_and_its_batch_is_stored(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    leads = _write(tmp_path / "leads.csv", f"lead_id,email,created_at\nL-1,a@example.com,{START}\n")
    events = _write(
        tmp_path / "events.csv",
        "event_id,lead_id,type,occurred_at\n"
        f"E-1,L-1,form_submitted,{START}\n"
        f"E-2,NOBODY,form_submitted,{START}\n"
        f"E-3,L-1,email_opened,{START}\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _import(runner, database_url, leads, "--events", events, "--rejects", rejects)
    assert result.exit_code == 1, result.stderr
    assert [(r["row"], r["record_id"], r["field"]) for r in _rejects(rejects)] == [
        (2, "E-2", "lead_id")
    ]
    assert "events 2 stored" in result.stderr
    with db.read() as session:
        assert sorted(session.scalars(select(EventRow.event_id))) == ["E-1", "E-3"]
        runs = {r.kind: r.finished for r in session.scalars(select(ImportRunRow))}
    assert runs == {"leads": True, "events": True}


def test_an_event_id_stored_with_other_content_is_rejected_and_the_rest_stored(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    leads = _write(tmp_path / "leads.csv", f"lead_id,email,created_at\nL-1,a@example.com,{START}\n")
    first = _write(
        tmp_path / "first.csv",
        f"event_id,lead_id,type,occurred_at\nE-1,L-1,form_submitted,{START}\n",
    )
    assert _import(runner, database_url, leads, "--events", first).exit_code == 0
    second = _write(
        tmp_path / "second.csv",
        "event_id,lead_id,type,occurred_at\n"
        f"E-1,L-1,email_opened,{START}\n"
        f"E-2,L-1,email_clicked,{START}\n",
    )
    rejects = tmp_path / "rejects.jsonl"
    result = _import(runner, database_url, leads, "--events", second, "--rejects", rejects)
    assert result.exit_code == 1, result.stderr
    assert [(r["row"], r["record_id"], r["field"]) for r in _rejects(rejects)] == [
        (1, "E-1", "event_id")
    ]
    with db.read() as session:
        stored = dict(session.execute(select(EventRow.event_id, EventRow.type)).all())
    assert stored == {"E-1": "form_submitted", "E-2": "email_clicked"}


def test_a_mapping_file_renames_a_crm_exports_columns(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    leads = _write(
        tmp_path / "crm.csv",
        f"Lead Number,Email Address,Created,Clinic\nC-1,c@example.com,{START},Cambridge\n",
    )
    events = _write(
        tmp_path / "activity.csv",
        f"Activity Id,Lead Number,Activity,When\nA-1,C-1,form_submitted,{START}\n",
    )
    mapping = _write(
        tmp_path / "mapping.yaml",
        "leads:\n  Lead Number: lead_id\n  Email Address: email\n  Created: created_at\n"
        "  Clinic: custom.clinic\n"
        "events:\n  Activity Id: event_id\n  Lead Number: lead_id\n  Activity: type\n"
        "  When: occurred_at\n",
    )
    result = _import(runner, database_url, leads, "--events", events, "--mapping", mapping)
    assert result.exit_code == 0, result.stderr
    with db.read() as session:
        lead = session.get(LeadRow, "C-1")
        assert lead is not None
        assert lead.profile["email"] == "c@example.com"
        assert lead.profile["custom"] == {"clinic": "Cambridge"}
        assert session.scalars(select(EventRow.event_id)).all() == ["A-1"]


def test_an_unreadable_file_is_a_usage_error_and_stores_nothing(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    result = _import(runner, database_url, tmp_path / "missing.csv")
    assert result.exit_code == 2
    assert "file not found" in result.stderr
    assert _counts(db)["leads"] == 0


def test_export_writes_the_handoff_columns_and_audits_the_export(
    runner: CliRunner, database_url: str, db: Database, tmp_path: Path
) -> None:
    assert _import(runner, database_url, *SAMPLES).exit_code == 0
    out = tmp_path / "handoff.csv"
    result = runner.invoke(app, ["export", "-o", str(out), "--database-url", database_url])
    assert result.exit_code == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    assert len(rows) == 13
    first = next(r for r in rows if r["lead_id"] == "NW-1001")
    assert first["playbook"] == "specialty-clinic"
    assert first["email"] == "avery.sample@example.com"
    assert "caregiver's guide" in first["downloads"]
    assert first["reasons"]
    assert any(r["timeline"] or r["no_timeline_reason"] for r in rows)
    assert any(r["asked"] for r in rows)
    # eligibility items alone in their column; every other blocker in its own
    assert any(r["eligibility_to_verify"] for r in rows)
    assert any(r["blockers"] for r in rows)
    eligibility = {
        f"Discovery: {need.label}"
        for name in shipped_playbooks()
        for need in load_playbook(name).sql.requires
        if need.answer == "eligibility_confirmed"
    }
    for r in rows:
        assert set(filter(None, r["eligibility_to_verify"].split("; "))) <= eligibility
        assert not set(r["blockers"].split("; ")) & eligibility, r["lead_id"]
    stages = {r["stage"] for r in rows}
    chosen = sorted(stages)[0]
    only = tmp_path / "only.csv"
    filtered = runner.invoke(
        app, ["export", "-o", str(only), "--stage", chosen, "--database-url", database_url]
    )
    assert filtered.exit_code == 0, filtered.stderr
    with only.open(encoding="utf-8", newline="") as handle:
        only_rows = list(csv.DictReader(handle))
    assert {r["stage"] for r in only_rows} == {chosen}
    everything: dict[str, Any] = {"stages": [], "playbook": None}
    one_stage: dict[str, Any] = {"stages": [chosen], "playbook": None}
    with db.read() as session:
        audits = [
            (a.entity, a.entity_id, a.actor, a.after)
            for a in session.scalars(
                select(AuditRow).where(AuditRow.action == "data.exported").order_by(AuditRow.seq)
            )
        ]
    assert audits == [
        ("export", "handoff.csv", "cli:export", {"rows": 13, "filters": everything}),
        ("export", "only.csv", "cli:export", {"rows": len(only_rows), "filters": one_stage}),
    ]


def test_export_refuses_an_unknown_stage(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "x.csv"
    result = runner.invoke(
        app, ["export", "-o", str(out), "--stage", "hot", "--database-url", database_url]
    )
    assert result.exit_code == 2
    assert not out.exists()
