"""``leadflow import --preset hubspot|salesforce`` on realistic CRM exports (SQLite and
PostgreSQL): every row stored, dates read in the given zone, sources and channels mapped,
the CRM's own stage kept as a fact and never taken as ours.

The files come from ``tests/data/crm/make_exports.py`` (invented people only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.tables import DecisionRow, LeadRow
from leadflow.entrypoints.cli import app

CRM = Path(__file__).parents[1] / "data" / "crm"
ZONE = ("--time-zone", "America/New_York")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(make_engine(database_url))
    yield database
    database.dispose()


def _import(url: str, *args: str | Path) -> Any:
    command = ["import", *(str(a) for a in args), "--database-url", url]
    return CliRunner().invoke(app, command)


def _lead(db: Database, lead_id: str) -> tuple[dict[str, Any], DecisionRow]:
    with db.read() as session:
        lead = session.get(LeadRow, lead_id)
        decision = session.get(DecisionRow, lead_id)
        assert lead is not None
        assert decision is not None
        session.expunge_all()
        return dict(lead.profile), decision


def _decisions(db: Database, prefix: str) -> list[tuple[str, str | None]]:
    """Stage and disqualification reason of every lead whose id starts with ``prefix``:
    spellings such as `Massachusetts`, `Mass.` and `Sleep Medicine` included."""
    with db.read() as session:
        rows = session.execute(
            select(DecisionRow.stage, DecisionRow.record)
            .join(LeadRow, DecisionRow.lead_id == LeadRow.id)
            .where(LeadRow.id.startswith(prefix))
        ).all()
    return [(stage, record.get("disqualification_reason")) for stage, record in rows]


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(LeadRow)) or 0)


@pytest.mark.parametrize(
    ("name", "rows"), [("hubspot-contacts.csv", 220), ("hubspot-contacts-eu.csv", 210)]
)
def test_a_hubspot_contacts_export_is_stored_whole_with_the_hubspot_preset(
    database_url: str, db: Database, name: str, rows: int
) -> None:
    result = _import(database_url, CRM / name, "--preset", "hubspot", *ZONE)
    assert result.exit_code == 0, result.stderr
    assert f"leads {rows} created, 0 matched; 0 rows rejected" in result.stderr
    assert "read in America/New_York (--time-zone)" in result.stderr
    assert _count(db) == rows
    decided = _decisions(db, "5")
    assert len(decided) == rows
    assert set(decided) == {("new", None)}  # no lead disqualified for a spelling


def test_hubspot_values_keep_their_meaning(database_url: str, db: Database) -> None:
    result = _import(database_url, CRM / "hubspot-contacts.csv", "--preset", "hubspot", *ZONE)
    assert result.exit_code == 0, result.stderr
    profile, decision = _lead(db, "51002")
    # 01/06/2026 03:15 in New York (EST) is 08:15 UTC.
    assert datetime.fromisoformat(profile["created_at"]) == datetime(2026, 1, 6, 8, 15, tzinfo=UTC)
    assert (profile["source"], profile["channel"]) == ("referrals", "web_referral")
    assert profile["email"] == "rowan.placeholder.2@example.org"
    assert profile["phone"] == "+16175550102"
    # HubSpot's "Marketing Qualified Lead" is a fact about the CRM, not our stage.
    assert profile["custom"]["crm_lifecycle_stage"] == "Marketing Qualified Lead"
    assert profile["custom"]["crm_first_conversion"] == "Book a consultation"
    assert (decision.stage, decision.playbook_id) == ("new", "specialty-clinic")
    # the CRM's spellings, read before the rules, and said so in the decision
    for lead_id, reading in (
        ("51001", "state `Massachusetts` read as MA"),
        ("51006", "state `Mass.` read as MA"),
        ("51007", "service_line `Sleep Medicine` read as sleep_medicine"),
    ):
        _, decided = _lead(db, lead_id)
        labels = [r["label"] for r in decided.record["reasons"]]
        assert reading in labels, (lead_id, labels)
        assert decided.record["disqualification_reason"] is None
    profile, _ = _lead(db, "51003")
    assert profile["notes"] == "Asking for a parent,\nplease call after 5"
    assert (profile["source"], profile["channel"]) == ("direct_traffic", "direct")


def test_the_eu_hubspot_file_reads_semicolons_and_iso_like_dates(
    database_url: str, db: Database
) -> None:
    result = _import(database_url, CRM / "hubspot-contacts-eu.csv", "--preset", "hubspot", *ZONE)
    assert result.exit_code == 0, result.stderr
    profile, _ = _lead(db, "51301")
    assert profile["created_at"].startswith("2026-")
    assert "custom" not in profile or "Fax Number" not in profile["custom"]
    assert profile["country"] == "United States"


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("salesforce-report.csv", "00Q5e00000Rp"), ("salesforce-dataloader.csv", "00Q5e00000Dl")],
)
def test_a_salesforce_lead_export_is_stored_whole_with_the_salesforce_preset(
    database_url: str, db: Database, name: str, prefix: str
) -> None:
    result = _import(database_url, CRM / name, "--preset", "salesforce", *ZONE)
    assert result.exit_code == 0, result.stderr
    assert "leads 205 created, 0 matched; 0 rows rejected" in result.stderr
    decided = _decisions(db, prefix)
    assert len(decided) == 205
    assert set(decided) == {("new", None)}  # no lead disqualified for a spelling


def test_salesforce_report_and_data_loader_values_keep_their_meaning(
    database_url: str, db: Database
) -> None:
    for name in ("salesforce-report.csv", "salesforce-dataloader.csv"):
        result = _import(database_url, CRM / name, "--preset", "salesforce", *ZONE)
        assert result.exit_code == 0, result.stderr
    report, _ = _lead(db, "00Q5e00000Rp0601")
    # "6/29/2026 5:30 PM" in New York (EDT) is 21:30 UTC.
    assert datetime.fromisoformat(report["created_at"]) == datetime(2026, 6, 29, 21, 30, tzinfo=UTC)
    assert (report["source"], report["channel"]) == ("trade_show", "event")
    assert report["custom"]["crm_lead_status"] == "Closed - Converted"
    # Email Opt Out = 1 is recorded as no email consent.
    assert (report["consent_email"], report["custom"]["crm_email_opt_out"]) == (False, "true")
    web, decision = _lead(db, "00Q5e00000Rp0602")
    assert (web["source"], web["channel"]) == ("web", "web_form")
    assert web.get("consent_email") is None
    assert decision.stage != "sql"  # "Closed - Converted" in Salesforce is not our stage
    loader, _ = _lead(db, "00Q5e00000Dl0811AAC")
    # Data Loader writes UTC with Z (2026-08-30T03:45:00.000Z): --time-zone does not move it.
    assert datetime.fromisoformat(loader["created_at"]) == datetime(2026, 8, 30, 3, 45, tzinfo=UTC)


def test_a_preset_without_a_time_zone_stops_before_storing_anything(
    database_url: str, db: Database
) -> None:
    result = _import(database_url, CRM / "hubspot-contacts.csv", "--preset", "hubspot")
    assert result.exit_code == 2
    assert "--preset hubspot" in result.stderr
    assert "--time-zone" in result.stderr
    assert _count(db) == 0
