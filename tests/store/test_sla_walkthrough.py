"""An SQL lead's first-outreach clock across a weekend and a holiday, with an injected clock.

Northwind's intake team (specialty-clinic, queue ``patient_scheduling``) works 08:00–18:00
America/New_York, Monday to Friday, and is closed on Martin Luther King Jr. Day (Monday
2026-01-19). SQL: 1 business hour; reminder 15 business minutes before; reassignment 1
business hour after a breach. The lead turns SQL at 17:30 on Friday 16 January, so 30
minutes count on Friday and the rest on Tuesday: due Tuesday 08:30.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.tables import (
    AssignmentRow,
    MessageRow,
    SlaClockRow,
    WebhookOutboxRow,
)
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.routing.sla import SlaReport, run_due
from tests.fakes import FakeClock

FRIDAY_1700 = datetime(2026, 1, 16, 22, 0, tzinfo=UTC)  # 17:00 in Boston
LEAD: dict[str, Any] = {
    "lead_id": "WALK-1",
    "lead_type": "patient",
    "first_name": "Robin",
    "last_name": "Example",
    "email": "robin@example.com",
    "phone": "(617) 555-0199",
    "service_line": "dermatology",
    "postal_code": "02139",
    "state": "MA",
    "country": "US",
    "source": "google",
    "channel": "web_form",
    "consent_email": True,
    "consent_phone": True,
}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _event(n: int, kind: str, at: datetime, **properties: Any) -> dict[str, Any]:
    return {
        "event_id": f"walk-{n}",
        "lead_id": "WALK-1",
        "type": kind,
        "occurred_at": at.isoformat(),
        "properties": properties,
    }


def _sla(app: App, now: datetime) -> SlaReport:
    return run_due(app.db.run, app.playbooks, now, 50)


def _rows(app: App, table: Any) -> list[Any]:
    with app.db.read() as session:  # plain rows: usable after the session closes
        return list(session.execute(select(table.__table__).order_by(table.id)))


def _notices(app: App) -> list[tuple[str, str | None, str | None]]:
    return [
        (m.kind, m.member_id, m.to_address) for m in _rows(app, MessageRow) if m.kind != "nurture"
    ]


def _decision(client: TestClient) -> dict[str, Any]:
    response = client.get("/v1/leads/WALK-1")
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()["decision"]
    return decision


def _to_sql(client: TestClient, clock: FakeClock) -> None:
    assert client.post("/v1/leads", json=LEAD).status_code == 201
    for n, (kind, props) in enumerate(
        [
            ("form_submitted", {"form": "specialty-enquiry", "service_line": "dermatology"}),
            ("page_viewed", {"url": "https://northwind.example/schedule/dermatology"}),
        ]
    ):
        response = client.post("/v1/events?wait=decision", json=_event(n, kind, clock.now, **props))
        assert response.status_code == 201, response.text
    assert _decision(client)["stage"] == "mql"
    clock.advance(minutes=20)
    accepted = client.post("/v1/leads/WALK-1/actions/accept", json={}, headers={"X-Actor": "erin"})
    assert accepted.status_code == 200, accepted.text
    clock.advance(minutes=10)  # 17:30 Friday
    discovery = client.post(
        "/v1/leads/WALK-1/actions/discovery",
        json={
            "need_confirmed": True,
            "eligibility_confirmed": True,
            "next_step": "appointment agreed for next week",
        },
        headers={"X-Actor": "erin"},
    )
    assert discovery.status_code == 200, discovery.text
    assert discovery.json()["decision"]["stage"] == "sql"


def test_an_sql_lead_is_reminded_breached_escalated_and_reassigned_across_a_holiday_weekend(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    with app.db.unit_of_work() as store:
        store.outbox.add_endpoint("https://hooks.example.com/x", ["lead.sla_breached"], FRIDAY_1700)
        store.commit()
    clock.now = FRIDAY_1700
    _to_sql(client, clock)

    decision = _decision(client)
    route = decision["route"]
    assert route["queue"] == "patient_scheduling"
    first_owner = route["owner"]
    # Load-balanced among Friday's intake members; Sam works Monday to Thursday only.
    assert first_owner == "luis"
    assert route["sla_due_at"] == "2026-01-20T13:30:00+00:00"  # Tuesday 08:30 in Boston
    (clock_row,) = [c for c in _rows(app, SlaClockRow) if c.stage == "sql"]
    assert clock_row.remind_at == _at("2026-01-20T13:15:00")  # 15 business minutes before
    assert clock_row.reassign_at == _at("2026-01-20T14:30:00")  # 1 business hour after
    notices_before = _notices(app)

    # Nothing happens over the weekend, on the holiday, or before the reminder.
    for quiet in ("2026-01-17T15:00:00", "2026-01-19T14:00:00", "2026-01-20T13:14:59"):
        assert _sla(app, _at(quiet)) == SlaReport()
    assert _notices(app) == notices_before

    reminded = _sla(app, _at("2026-01-20T13:15:00"))
    assert (reminded.reminded, reminded.breached) == (1, 0)
    assert _notices(app)[len(notices_before) :] == [
        ("sla_reminder", "luis", "luis@northwind.example")
    ]
    assert _sla(app, _at("2026-01-20T13:29:00")) == SlaReport()  # reminded once only

    breached = _sla(app, _at("2026-01-20T13:30:00"))
    assert (breached.breached, breached.escalated, breached.reassigned) == (1, 1, 0)
    assert _notices(app)[len(notices_before) + 1 :] == [
        ("sla_breach", "luis", "luis@northwind.example"),
        ("sla_escalation", "dana", "dana@northwind.example"),  # the team lead
    ]
    (sql_clock,) = [c for c in _rows(app, SlaClockRow) if c.stage == "sql"]
    assert sql_clock.breached_at == _at("2026-01-20T13:30:00")
    assert sql_clock.escalated_to == "dana"
    (hook,) = [w for w in _rows(app, WebhookOutboxRow) if w.event_type == "lead.sla_breached"]
    assert hook.payload["data"] == {
        "lead_id": "WALK-1",
        "stage": "sql",
        "queue": "patient_scheduling",
        "team": "patient_intake",
        "owner": "luis",
        "sla": "1 business hour",
        "started_at": "2026-01-16T22:30:00+00:00",
        "due_at": "2026-01-20T13:30:00+00:00",
        "escalated_to": "dana",
    }
    assert "robin" not in str(hook.payload).lower()  # ids only, no contact details

    assert _sla(app, _at("2026-01-20T14:29:59")) == SlaReport()
    moved = _sla(app, _at("2026-01-20T14:30:00"))
    assert moved.reassigned == 1
    route = _decision(client)["route"]
    assert route["owner"] not in {"luis", None}
    new_owner = route["owner"]
    # A fresh clock for the new owner: one business hour from 09:30, i.e. 10:30 in Boston.
    assert route["sla_due_at"] == "2026-01-20T15:30:00+00:00"
    history = [(a.from_owner, a.to_owner, a.reason) for a in _rows(app, AssignmentRow)]
    assert history[-1] == ("luis", new_owner, "sla_reassigned")
    assert ("assigned", new_owner) in [(k, m) for k, m, _ in _notices(app)]

    # The new owner calls at 09:50: an SQL's clock is for its appointment, so a call alone
    # does not stop it ...
    clock.now = _at("2026-01-20T14:50:00")
    logged = client.post(
        "/v1/events?wait=decision",
        json=_event(9, "outreach_logged", clock.now, channel="phone"),
        headers={"X-Actor": new_owner},
    )
    assert logged.status_code == 201, logged.text
    assert _decision(client)["route"]["sla_due_at"] == "2026-01-20T15:30:00+00:00"
    # ... booking it at 10:00 does; the opportunity's follow-up is due a business day later.
    clock.now = _at("2026-01-20T15:00:00")
    booked = client.post(
        "/v1/events?wait=decision",
        json=_event(10, "appointment_scheduled", clock.now),
        headers={"X-Actor": new_owner},
    )
    assert booked.status_code == 201, booked.text
    assert _decision(client)["stage"] == "opportunity"
    assert _decision(client)["route"] == {
        "queue": "patient_scheduling",
        "owner": new_owner,
        "sla_due_at": "2026-01-21T15:00:00+00:00",
    }
    assert _sla(app, _at("2026-01-21T14:40:00")) == SlaReport()  # before its reminder
    clocks = [c for c in _rows(app, SlaClockRow) if c.stage == "sql"]
    assert [(c.closed_reason, c.stopped_at) for c in clocks] == [
        ("reassigned", None),
        (None, _at("2026-01-20T15:00:00")),
    ]


def test_the_worker_command_runs_the_sla_checks(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday, 10:00 in Boston
    _to_sql(client, clock)  # SQL at 10:30, due 11:30, reassignment at 12:30 (long past now)
    result = CliRunner().invoke(
        cli, ["worker", "--once", "--database-url", app.settings.database_url]
    )
    assert result.exit_code == 0, result.output
    assert "sla: 0 reminded, 1 breached, 1 escalated, 1 reassigned" in result.output
    kinds = [kind for kind, _, _ in _notices(app)]
    assert kinds.count("sla_breach") == kinds.count("sla_escalation") == 1
    again = CliRunner().invoke(
        cli, ["worker", "--once", "--database-url", app.settings.database_url]
    )
    assert "sla: 0 reminded, 0 breached" in again.output  # each clock's work is done once
