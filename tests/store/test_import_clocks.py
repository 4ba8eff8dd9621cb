"""``leadflow import`` starts SLA clocks from each lead's own history, never at import time:
an old lead gets no clock and is never breached (``ImportedClocks``, docs/import.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.tables import SlaClockRow
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.cli import app
from leadflow.entrypoints.settings import Settings
from leadflow.services.routing.sla import run_due

HEADER = "lead_id,lead_type,first_name,email,service_line,postal_code,state,country,consent_email"
EVENTS = "event_id,lead_id,type,occurred_at,url,page_category,service_line,form,asset"


def _files(tmp_path: Path, ages: dict[str, timedelta]) -> tuple[Path, Path]:
    now = datetime.now(UTC)
    leads, events = [HEADER], [EVENTS]
    for lead_id, age in ages.items():
        leads.append(
            f"{lead_id},patient,Pat,{lead_id.lower()}@example.com,dermatology,02139,MA,US,yes"
        )
        at = now - age
        for n, (kind, extra) in enumerate(
            [
                ("form_submitted", ",,dermatology,request-info,"),
                ("content_downloaded", ",,,,Preparing for a dermatology visit"),
                ("page_viewed", "/schedule/dermatology,scheduling,,,"),
            ]
        ):
            when = (at - timedelta(minutes=10 * (2 - n))).isoformat()
            events.append(f"{lead_id}-{n},{lead_id},{kind},{when},{extra}")
    (tmp_path / "leads.csv").write_text("\n".join(leads) + "\n", encoding="utf-8")
    (tmp_path / "events.csv").write_text("\n".join(events) + "\n", encoding="utf-8")
    return tmp_path / "leads.csv", tmp_path / "events.csv"


def test_clocks_start_from_the_leads_history_and_old_leads_are_never_breached(
    tmp_path: Path, database_url: str
) -> None:
    # FRESH: its deadline is ahead; STALE: older than the limit (72 h by default)
    ages = {"FRESH": timedelta(minutes=20), "STALE": timedelta(days=4)}
    leads, events = _files(tmp_path, ages)
    result = CliRunner().invoke(
        app, ["import", str(leads), "--events", str(events), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.stderr
    db = Database(make_engine(database_url))
    try:
        with db.read() as session:
            clocks = {c.lead_id: c.started_at for c in session.scalars(select(SlaClockRow))}
            stages = dict(session.execute(select(SlaClockRow.lead_id, SlaClockRow.stage)).all())
        assert set(clocks) == {"FRESH"}, f"clocks for {sorted(clocks)}; stages {stages}"
        expected = datetime.now(UTC) - ages["FRESH"]
        assert abs(clocks["FRESH"] - expected) < timedelta(minutes=5)  # at its last event
        leadflow = bootstrap(Settings(database_url=database_url))
        report = run_due(leadflow.db.run, leadflow.playbooks, datetime.now(UTC), 50)
        with leadflow.db.view() as view:
            old = [view.lead("STALE")]
        leadflow.db.dispose()
        assert report.breached == 0
        for lead in old:
            assert lead is not None
            assert lead["decision"]["stage"] == "mql", lead["decision"]["stage"]
            assert lead["decision"]["route"]["sla_due_at"] is None
    finally:
        db.dispose()


def test_a_lead_already_past_its_sla_before_the_import_gets_no_clock(
    tmp_path: Path, database_url: str
) -> None:
    # within the age limit (raised to 7 days), but five days past its one-business-day SLA
    leads, events = _files(tmp_path, {"LATE": timedelta(days=5)})
    result = CliRunner().invoke(
        app,
        ["import", str(leads), "--events", str(events), "--database-url", database_url],
        env={"LEADFLOW_IMPORT_SLA_MAX_AGE_HOURS": str(7 * 24)},
    )
    assert result.exit_code == 0, result.stderr
    leadflow = bootstrap(Settings(database_url=database_url))
    try:
        with leadflow.db.view() as view:
            late = view.lead("LATE")
        assert late is not None
        assert late["decision"]["stage"] == "mql", late["decision"]["stage"]
        assert late["sla"] == []
        assert run_due(leadflow.db.run, leadflow.playbooks, datetime.now(UTC), 50).breached == 0
    finally:
        leadflow.db.dispose()
