"""KPI reports over a small known dataset, on SQLite and PostgreSQL: exact numbers for every
report, cross-checks against hand-written SQL, CSV = JSON, analysts may read them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update
from typer.testing import CliRunner

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.tables import SlaClockRow
from leadflow.entrypoints.cli import app as cli
from tests.factories import bearer, create_key
from tests.fakes import FakeClock
from tests.store.report_queries import ACCEPTANCE_SQL, FUNNEL_SQL, REASONS_SQL

REPORTS = (
    "funnel",
    "acceptance",
    "outreach",
    "disqualifications",
    "channel-quality",
    "velocity",
    "nurture",
)


class Story:
    """Posts leads, events and actions through the API, moving the clock between steps."""

    def __init__(self, client: TestClient, clock: FakeClock) -> None:
        self.client, self.clock = client, clock

    def wait(self, hours: float) -> None:
        self.clock.advance(hours=hours)

    def lead(self, lead_id: str, channel: str, **fields: Any) -> None:
        body = {
            "lead_id": lead_id,
            "lead_type": "patient",
            "email": f"{lead_id.lower()}@example.com",
            "service_line": "cardiology",
            "state": "MA",
            "country": "US",
            "source": "google" if channel == "web_form" else "meta",
            "channel": channel,
            "campaign": "spring",
            "consent_email": True,
            **fields,
        }
        response = self.client.post("/v1/leads", json=body)
        assert response.status_code in {200, 201}, response.text

    def event(self, lead_id: str, kind: str, **properties: Any) -> str:
        response = self.client.post(
            "/v1/events?wait=decision",
            json={"lead_id": lead_id, "type": kind, "properties": properties},
        )
        assert response.status_code == 201, response.text
        stage: str = response.json()["leads"][0]["stage"]
        return stage

    def act(self, lead_id: str, action: str, **body: Any) -> str:
        response = self.client.post(f"/v1/leads/{lead_id}/actions/{action}", json=body)
        assert response.status_code == 200, response.text
        stage: str = response.json()["decision"]["stage"]
        return stage

    def mql(self, lead_id: str, channel: str) -> None:
        self.lead(lead_id, channel)
        self.wait(1)
        assert self.event(lead_id, "form_submitted", service_line="cardiology") == "mql"


DISCOVERY = {"need_confirmed": True, "eligibility_confirmed": True, "next_step": "booked"}


def build(client: TestClient, clock: FakeClock) -> None:
    """Nine surviving leads (web_form: A1–A3, paid_social: B1–B5 and C1) and one merged."""
    s = Story(client, clock)
    s.mql("A1", "web_form")  # new 1 h → mql 2 h → accepted 2 h → sql 3 h → opp 24 h → won
    s.wait(1)
    s.event("A1", "outreach_logged", channel="phone")  # 1 h after MQL
    s.wait(1)
    assert s.act("A1", "accept") == "sales_accepted"
    s.wait(2)
    assert s.act("A1", "discovery", **DISCOVERY) == "sql"
    s.wait(3)
    assert s.act("A1", "schedule") == "opportunity"
    s.wait(24)
    assert s.act("A1", "win") == "won"

    s.mql("A2", "web_form")  # new 1 h → mql 4 h → accepted 4 h → sql 6 h → lost
    s.wait(3)
    s.event("A2", "outreach_logged", channel="phone")  # 3 h
    s.wait(1)
    s.act("A2", "accept")
    s.wait(4)
    assert s.act("A2", "discovery", **DISCOVERY) == "sql"
    s.wait(6)
    assert s.act("A2", "lose", reason="price too high") == "lost"

    s.mql("A3", "web_form")  # new 1 h → mql 6 h → nurture 2 h → mql (open)
    s.wait(5)
    s.event("A3", "outreach_logged", channel="email")  # 5 h
    s.wait(1)
    assert s.act("A3", "reject", reason="no active need") == "nurture"
    s.wait(2)
    assert s.event("A3", "email_opened") == "mql"

    s.mql("B1", "paid_social")  # new 1 h → mql 2 h → nurture (open); never reached out
    s.wait(2)
    assert s.act("B1", "reject", reason="wrong service line") == "nurture"

    s.mql("B2", "paid_social")  # new 1 h → mql 12 h → sql 1 h (skipped acceptance) → dq
    s.wait(10)
    s.event("B2", "outreach_logged", channel="phone")  # 10 h
    s.wait(2)
    assert s.act("B2", "discovery", **DISCOVERY) == "sql"
    s.wait(1)
    assert s.act("B2", "disqualify", reason="insurance not accepted") == "disqualified"

    s.mql("B3", "paid_social")  # new 1 h → mql 1 h → disqualified
    s.wait(1)
    s.act("B3", "disqualify", reason="insurance not accepted")

    s.lead("B4", "paid_social", service_line="dermatology")  # new 1 h → nurture (open)
    s.wait(1)
    assert s.event("B4", "page_viewed", page_category="blog") == "nurture"
    s.wait(1)
    assert s.event("B4", "email_clicked") == "nurture"

    s.mql("B5", "paid_social")  # new 1 h → mql (open)

    s.lead("C1", "paid_social", state="CA")  # hard stop: out of coverage area
    s.wait(1)
    s.lead("M1", "web_form", email=None, phone="+16175550100")  # merged into A1 below
    s.wait(1)
    s.lead("A1", "web_form", phone="+16175550100")


def get(client: TestClient, name: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/reports/{name}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows(body: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in body["rows"]}


def test_funnel_counts_leads_that_reached_each_stage_and_converts_stage_to_stage(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "funnel", by="channel")
    assert body["by"] == "channel"
    by_channel = rows(body, "group")
    assert list(by_channel) == ["paid_social", "web_form", "(all)"]  # M1 was merged: left out
    web, paid, total = by_channel["web_form"], by_channel["paid_social"], by_channel["(all)"]
    stages = ("leads", "mql", "sales_accepted", "sql", "opportunity", "won")
    assert [web[k] for k in stages] == [3, 3, 2, 2, 1, 1]
    assert [paid[k] for k in stages] == [6, 4, 1, 1, 0, 0]  # B2 skipped acceptance: counted
    assert [total[k] for k in stages] == [9, 7, 3, 3, 1, 1]
    assert web["mql_to_sales_accepted"] == 0.6667
    assert paid["lead_to_mql"] == 0.6667
    assert paid["opportunity_to_won"] is None
    assert total["sql_to_opportunity"] == 0.3333
    assert body["summary"]["leads"] == 9
    month = rows(get(client, "funnel", by="month"), "group")
    assert list(month) == ["2026-03", "(all)"]
    assert month["2026-03"]["won"] == 1
    source = rows(get(client, "funnel", by="source"), "group")
    assert source["google"]["mql"] == 3
    assert source["meta"]["mql"] == 4
    service = rows(get(client, "funnel", by="service_line"), "group")
    assert service["dermatology"]["leads"] == 1


def test_filters_select_leads_by_creation_time_and_playbook(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    late = get(client, "funnel", created_from="2026-03-08T00:00:00Z")
    assert rows(late, "group")["(all)"]["leads"] == 7  # A3, B1…B5 and C1
    early = get(client, "funnel", created_to="2026-03-08T00:00:00Z")
    assert rows(early, "group")["(all)"]["leads"] == 2  # A1, A2
    other = get(client, "funnel", playbook="referral-partner")
    assert rows(other, "group")["(all)"]["leads"] == 0
    assert other["filters"]["playbook"] == "referral-partner"
    naive = client.get("/v1/reports/funnel", params={"created_from": "2026-03-08T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["problems"][0]["field"] == "created_from"
    bad = client.get("/v1/reports/funnel", params={"by": "colour"})
    assert bad.status_code == 422


def test_acceptance_rate_is_over_first_reviews_with_rejection_reasons(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "acceptance")
    assert body["summary"] == {
        "mql_leads": 7,
        "reviewed": 4,
        "accepted": 2,
        "rejected": 2,
        "acceptance_rate": 0.5,
        "rejection_events": 2,
    }
    assert body["rows"] == [  # typed as "no active need" and "wrong service line": codes
        {
            "reason": "no_active_need",
            "label": "No active care need",
            "rejections": 1,
            "share": 0.5,
        },
        {
            "reason": "wrong_service_line",
            "label": "Needs a different service line",
            "rejections": 1,
            "share": 0.5,
        },
    ]


def test_outreach_times_from_hand_off_with_median_and_p90_and_no_sla_data_yet(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "outreach")
    by_channel = rows(body, "channel")
    web, paid, total = by_channel["web_form"], by_channel["paid_social"], by_channel["(all)"]
    assert (web["handed_off"], web["reached_out"], web["median_hours"], web["p90_hours"]) == (
        3,
        3,
        3.0,
        5.0,
    )
    assert (paid["handed_off"], paid["awaiting_outreach"], paid["median_hours"]) == (4, 3, 10.0)
    assert (total["reached_out"], total["median_hours"], total["p90_hours"]) == (4, 4.0, 10.0)
    # Routing starts a first-outreach clock at each hand-off. A1, A2, A3 and B2 were reached
    # out to before their due times; B5 is not due yet; B1 and B3 left MQL before theirs.
    sla = (total["sla_leads"], total["sla_met"], total["sla_missed"], total["sla_pending"])
    assert sla == (5, 4, 0, 1)
    assert total["sla_compliance"] == 1.0
    assert body["summary"]["sla_status"] == "measured"
    assert body["notes"] == []


def test_sla_compliance_counts_met_missed_and_pending_against_the_due_time(
    client: TestClient, clock: FakeClock, database_url: str
) -> None:
    build(client, clock)
    engine = make_engine(database_url)
    with engine.begin() as conn:  # move some hand-off clocks' due times by hand
        for lead_id, due in (
            ("A1", datetime(2026, 3, 6, 13, 30, tzinfo=UTC)),  # reached out at 14:00: missed
            ("B1", datetime(2026, 3, 8, 22, 0, tzinfo=UTC)),  # left MQL at 23:00 unanswered
            ("B5", datetime(2030, 1, 1, tzinfo=UTC)),  # no outreach, not yet due: pending
        ):
            first = conn.execute(
                select(func.min(SlaClockRow.id)).where(SlaClockRow.lead_id == lead_id)
            ).scalar_one()
            conn.execute(update(SlaClockRow).where(SlaClockRow.id == first).values(due_at=due))
    engine.dispose()
    total = rows(get(client, "outreach"), "channel")["(all)"]
    # A2, A3 and B2 met theirs; B3 left MQL before its due time and is not counted.
    assert (total["sla_leads"], total["sla_met"], total["sla_missed"], total["sla_pending"]) == (
        6,
        3,
        2,
        1,
    )
    assert total["sla_compliance"] == 0.6
    assert get(client, "outreach")["summary"]["sla_status"] == "measured"


def test_without_routed_hand_offs_there_is_no_sla_data(
    client: TestClient, clock: FakeClock, database_url: str
) -> None:
    build(client, clock)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(delete(SlaClockRow))
    engine.dispose()
    body = get(client, "outreach")
    total = rows(body, "channel")["(all)"]
    assert (total["sla_leads"], total["sla_compliance"]) == (0, None)
    assert body["summary"]["sla_status"] == "no SLA data yet"
    assert body["notes"] == ["no SLA data yet: no hand-off has an SLA clock"]


def test_disqualification_reasons_form_a_pareto_with_hard_stops(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "disqualifications")
    assert body["summary"] == {"total": 4}
    assert [
        (r["reason"], r["label"], r["sources"], r["count"], r["share"], r["cumulative_share"])
        for r in body["rows"]
    ] == [
        ("insurance_not_accepted", "Insurance plan not accepted", "disqualified", 2, 0.5, 0.5),
        ("out_of_coverage_area", "Outside the coverage area", "hard_stop", 1, 0.25, 0.75),
        ("price_too_high", "Cost too high", "closed_lost", 1, 0.25, 1.0),
    ]


def test_channel_quality_flags_a_channel_with_many_mqls_but_fewer_sqls(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "channel-quality")
    by_channel = rows(body, "channel")
    assert by_channel["paid_social"] == {
        "channel": "paid_social",
        "leads": 6,
        "mqls": 4,
        "sqls": 1,
        "mql_to_sql": 0.25,
        "mql_share": 0.5714,
        "many_mqls_few_sqls": True,
    }
    assert by_channel["web_form"]["mql_to_sql"] == 0.6667
    assert by_channel["web_form"]["many_mqls_few_sqls"] is False
    assert body["summary"] == {
        "mqls": 7,
        "sqls": 3,
        "mql_to_sql": 0.4286,
        "average_mqls_per_channel": 3.5,
    }


def test_velocity_measures_closed_stage_intervals_in_days(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    body = get(client, "velocity")
    stages = {
        r["stage"]: (r["intervals"], r["median_days"], r["p90_days"], r["open_now"])
        for r in body["rows"]
    }
    assert stages == {
        "new": (8, 0.042, 0.042, 0),
        "nurture": (1, 0.083, 0.083, 2),
        "mql": (6, 0.125, 0.5, 2),  # 1, 2, 2, 4, 6, 12 hours
        "sales_accepted": (2, 0.125, 0.167, 0),
        "sql": (3, 0.125, 0.25, 0),
        "opportunity": (1, 1.0, 1.0, 0),
    }
    assert "excluded" in body["notes"][0]


def test_nurture_engagement_counts_opens_clicks_and_return_to_mql_after_entry(
    client: TestClient, clock: FakeClock
) -> None:
    build(client, clock)
    total = rows(get(client, "nurture"), "channel")["(all)"]
    assert total == {
        "channel": "(all)",
        "entered_nurture": 3,
        "opened": 1,
        "opened_share": 0.3333,
        "clicked": 1,
        "clicked_share": 0.3333,
        "engaged": 2,
        "engaged_share": 0.6667,
        "reengaged_mql": 1,
        "reengaged_share": 0.3333,
    }


def test_funnel_and_acceptance_equal_hand_written_sql(
    client: TestClient, clock: FakeClock, database_url: str
) -> None:
    build(client, clock)
    engine = make_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    channel = "l.profile ->> 'channel'" if postgres else "json_extract(l.profile, '$.channel')"
    reason = "e.properties ->> 'reason'" if postgres else "json_extract(e.properties, '$.reason')"
    with engine.connect() as conn:
        funnel_rows = conn.execute(text(FUNNEL_SQL.format(channel=channel))).all()
        accepted, rejected = conn.execute(text(ACCEPTANCE_SQL)).one()
        reasons: dict[str, int] = dict(conn.execute(text(REASONS_SQL.format(reason=reason))).all())
    engine.dispose()
    expected = {row[0]: [int(v) for v in row[1:]] for row in funnel_rows}
    report = rows(get(client, "funnel", by="channel"), "group")
    stages = ("leads", "mql", "sales_accepted", "sql", "opportunity", "won")
    assert {k: [v[s] for s in stages] for k, v in report.items() if k != "(all)"} == expected
    body = get(client, "acceptance")
    assert (body["summary"]["accepted"], body["summary"]["rejected"]) == (accepted, rejected)
    assert {r["reason"]: r["rejections"] for r in body["rows"]} == reasons


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def test_every_report_as_csv_parses_to_the_json_rows(client: TestClient, clock: FakeClock) -> None:
    build(client, clock)
    for name in REPORTS:
        body = get(client, name)
        response = client.get(f"/v1/reports/{name}", params={"format": "csv"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        parsed = list(csv.DictReader(io.StringIO(response.text)))
        assert list(parsed[0]) == body["columns"] if parsed else True
        expected = [{k: _csv_cell(row[k]) for k in body["columns"]} for row in body["rows"]]
        assert parsed == expected, name


def test_an_analyst_key_reads_every_report_but_not_leads(
    client: TestClient, clock: FakeClock, database_url: str
) -> None:
    build(client, clock)
    analyst = create_key(database_url, "kpis", "analyst")
    for name in REPORTS:
        assert client.get(f"/v1/reports/{name}", headers=bearer(analyst)).status_code == 200
    assert client.get("/v1/reports/funnel").status_code == 401
    assert client.get("/v1/leads/A1", headers=bearer(analyst)).status_code == 403


def test_report_command_prints_a_table_csv_or_json(
    client: TestClient, clock: FakeClock, database_url: str, tmp_path: Any
) -> None:
    build(client, clock)
    runner = CliRunner()
    table = runner.invoke(cli, ["report", "funnel", "--database-url", database_url])
    assert table.exit_code == 0, table.output
    assert "paid_social" in table.stdout
    out = tmp_path / "funnel.csv"
    written = runner.invoke(
        cli,
        [
            "report",
            "funnel",
            "--by",
            "month",
            "--format",
            "csv",
            "-o",
            str(out),
            "--database-url",
            database_url,
        ],
    )
    assert written.exit_code == 0, written.output
    parsed = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["group"], r["won"]) for r in parsed] == [("2026-03", "1"), ("(all)", "1")]
    as_json = runner.invoke(
        cli,
        [
            "report",
            "acceptance",
            "--format",
            "json",
            "--playbook",
            "specialty-clinic",
            "--created-from",
            "2026-03-01",
            "--database-url",
            database_url,
        ],
    )
    assert as_json.exit_code == 0, as_json.output
    assert '"acceptance_rate": 0.5' in as_json.stdout
    misuse = runner.invoke(
        cli, ["report", "velocity", "--by", "channel", "--database-url", database_url]
    )
    assert misuse.exit_code == 2
