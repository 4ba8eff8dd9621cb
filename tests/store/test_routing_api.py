"""Routing by hand over HTTP, the dashboard and the CLI, on SQLite and on PostgreSQL.

The seeds' caregiver becomes an MQL in band ``mid`` of specialty-clinic, so it is routed to
``patient_education``, worked by team ``patient_marketing`` (Tomás and Erin, round robin,
08:00–17:00 America/New_York). The test clock starts on Friday 2026-03-06 12:00 UTC, an hour
before the team opens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.tables import AssignmentRow, AuditRow, WebhookOutboxRow
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.accounts import User
from tests.factories import CAREGIVER, CAREGIVER_EVENTS, bearer, create_key
from tests.fakes import START, FakeClock


def _mql(client: TestClient, n: int = 1) -> dict[str, Any]:
    """Lead ``SC-00n``: the caregiver under its own id, email and phone, made an MQL."""
    lead_id = f"SC-00{n}"
    lead = {
        **CAREGIVER,
        "lead_id": lead_id,
        "email": f"caregiver{n}@example.com",
        "phone": f"(617) 555-02{n:02d}",
    }
    assert client.post("/v1/leads", json=lead).status_code == 201
    for event in CAREGIVER_EVENTS:
        sent = {**event, "lead_id": lead_id, "event_id": f"{event['event_id']}-{n}"}
        response = client.post("/v1/events?wait=decision", json=sent)
        assert response.status_code == 201, response.text
    view = client.get(f"/v1/leads/{lead_id}").json()
    assert view["decision"]["stage"] == "mql"
    return view


def _rows(app: App, table: Any) -> list[Any]:
    with app.db.read() as session:
        return list(session.execute(select(table.__table__)))


def _audit(app: App, action: str) -> list[Any]:
    return [r for r in _rows(app, AuditRow) if r.action == action]


def _team(client: TestClient, team_id: str, **headers: str) -> dict[str, Any]:
    response = client.get("/v1/teams", headers=headers)
    assert response.status_code == 200, response.text
    (team,) = [t for t in response.json() if t["id"] == team_id]
    return team


def test_an_mql_is_routed_to_its_queue_team_with_an_owner_and_a_running_sla(
    client: TestClient,
) -> None:
    view = _mql(client)
    route = view["decision"]["route"]
    assert route["queue"] == "patient_education"
    assert route["owner"] in {"tomas", "erin"}
    (routed,) = view["assignments"]
    assert (routed["from_owner"], routed["to_owner"], routed["reason"]) == (
        None,
        route["owner"],
        "routed",
    )
    assert routed["team"] == "patient_marketing"
    (clock,) = view["sla"]
    assert clock["stage"] == "mql"
    assert clock["owner"] == route["owner"]
    assert clock["sla"] == "1 business day"
    assert (clock["stopped_at"], clock["closed_reason"]) == (None, None)
    # 1 business day from Friday 08:00 in Boston (the team opens then) is Friday 17:00.
    assert route["sla_due_at"] == "2026-03-06T22:00:00+00:00"
    assert datetime.fromisoformat(clock["due_at"]) == datetime(2026, 3, 6, 22, tzinfo=UTC)
    listed = client.get("/v1/leads", params={"owner": route["owner"]}).json()["items"]
    assert [(i["lead_id"], i["queue"], i["owner"], i["sla_due_at"]) for i in listed] == [
        ("SC-001", "patient_education", route["owner"], "2026-03-06T22:00:00Z")
    ]
    page = client.get("/leads")  # the dashboard's list shows owner and due time too
    assert page.status_code == 200
    assert f"<td>{route['owner']}</td>" in page.text
    assert "2026-03-06 22:00" in page.text


def test_a_manual_assignment_moves_lead_and_clock_and_is_audited_with_a_webhook(
    app: App, client: TestClient, clock: FakeClock, database_url: str
) -> None:
    with app.db.unit_of_work() as store:
        store.outbox.add_endpoint("https://hooks.example.com/x", ["lead.assigned"], START)
        store.commit()
    first = _mql(client)["decision"]["route"]
    other = "erin" if first["owner"] == "tomas" else "tomas"
    clock.advance(minutes=30)

    answer = client.post(
        "/v1/leads/SC-001/assign",
        json={"owner": other, "reason": "speaks Spanish"},
        headers={"X-Actor": "ana", "Idempotency-Key": "assign-1"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["changed"] is True
    assert body["route"] == {**first, "owner": other}  # same queue, same SLA due time
    assert body["assignment"] == {
        "at": "2026-03-06T12:30:00Z",
        "queue": "patient_education",
        "team": "patient_marketing",
        "from_owner": first["owner"],
        "to_owner": other,
        "reason": "manual: speaks Spanish",
        "actor": "user:ana",
    }
    replay = client.post(
        "/v1/leads/SC-001/assign",
        json={"owner": other, "reason": "speaks Spanish"},
        headers={"X-Actor": "ana", "Idempotency-Key": "assign-1"},
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == body

    view = client.get("/v1/leads/SC-001").json()
    assert view["decision"]["route"]["owner"] == other
    assert [a["reason"] for a in view["assignments"]] == ["routed", "manual: speaks Spanish"]
    assert [c["owner"] for c in view["sla"]] == [other]  # the running clock follows

    (audited,) = _audit(app, "lead.assigned")[1:]
    assert (audited.entity_id, audited.actor) == ("SC-001", "user:ana")
    assert audited.before == {"owner": first["owner"]}
    assert audited.after["owner"] == other
    assert audited.reason == "manual: speaks Spanish"
    hooks = [r.payload["data"] for r in _rows(app, WebhookOutboxRow)]
    assert {"from_owner": first["owner"], "owner": other} in [
        {"from_owner": h["from_owner"], "owner": h["owner"]} for h in hooks
    ]
    assert hooks[-1]["reason"] == "manual"  # the words a person typed stay in leadflow
    assert "Spanish" not in str(hooks)
    assert "email" not in str(hooks)  # ids only, never the lead's details

    again = client.post("/v1/leads/SC-001/assign", json={"owner": other})
    assert again.status_code == 200
    assert (again.json()["changed"], again.json()["assignment"]) == (False, None)
    assert len(_rows(app, AssignmentRow)) == 2

    verified = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert verified.exit_code == 0, verified.output


def test_assigning_to_someone_off_the_team_or_with_a_long_reason_changes_nothing(
    app: App, client: TestClient
) -> None:
    owner = _mql(client)["decision"]["route"]["owner"]
    stranger = client.post("/v1/leads/SC-001/assign", json={"owner": "priya"})
    assert stranger.status_code == 422
    error = stranger.json()["error"]
    assert error["code"] == "unknown_member"
    assert [p["field"] for p in error["problems"]] == ["owner"]
    assert "patient_marketing" in error["message"]
    wordy = client.post("/v1/leads/SC-001/assign", json={"owner": "erin", "reason": "x" * 501})
    assert wordy.status_code == 422
    assert [p["field"] for p in wordy.json()["error"]["problems"]] == ["reason"]
    assert client.get("/v1/leads/SC-001").json()["decision"]["route"]["owner"] == owner
    assert len(_rows(app, AssignmentRow)) == 1


def test_a_lead_outside_the_routed_stages_cannot_be_assigned(client: TestClient) -> None:
    new = client.post("/v1/leads", json={**CAREGIVER, "lead_id": "NEW-1"})
    assert new.json()["decision"]["stage"] in {"new", "nurture"}
    early = client.post("/v1/leads/NEW-1/assign", json={"owner": "erin"})
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_routed"

    _mql(client, 2)
    rejected = client.post("/v1/leads/SC-002/actions/reject", json={"reason": "not_ready"})
    assert rejected.json()["decision"]["stage"] == "nurture"
    late = client.post("/v1/leads/SC-002/assign", json={"owner": "erin"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "not_routed"

    missing = client.post("/v1/leads/nobody/assign", json={"owner": "erin"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "lead_not_found"


def test_an_absence_makes_the_team_skip_the_member_until_it_ends(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    team = _team(client, "patient_marketing")
    assert team["playbook"] == "specialty-clinic"
    assert [m["away"] for m in team["members"]] == [None, None]
    away = client.post(
        "/v1/members/tomas/absences",
        json={"starts_at": "2026-03-06T00:00:00Z", "ends_at": "2026-03-06T14:00:00Z"},
        headers={"X-Actor": "erin"},
    )
    assert away.status_code == 201, away.text
    assert away.json()["member_id"] == "tomas"
    (audited,) = _audit(app, "member.absent")
    assert (audited.entity_id, audited.actor) == ("tomas", "user:erin")
    assert audited.after["absence_id"] == away.json()["id"]
    listed = client.get("/v1/members/tomas/absences").json()
    assert [(a["id"], a["ends_at"]) for a in listed] == [
        (away.json()["id"], "2026-03-06T14:00:00Z")
    ]
    members = {m["id"]: m for m in _team(client, "patient_marketing")["members"]}
    assert members["tomas"]["away"] == "2026-03-06T14:00:00Z"

    # Round robin would alternate; with Tomás away, Erin gets both.
    owners = [_mql(client, n)["decision"]["route"]["owner"] for n in (1, 2)]
    assert owners == ["erin", "erin"]
    clock.advance(hours=2)  # the absence is over
    assert _mql(client, 3)["decision"]["route"]["owner"] == "tomas"

    members = {m["id"]: m for m in _team(client, "patient_marketing")["members"]}
    assert {m: (v["open_leads"], v["away"]) for m, v in members.items()} == {
        "tomas": (1, None),
        "erin": (2, None),
    }


def test_absences_need_a_known_member_and_an_end_after_the_start(client: TestClient) -> None:
    stranger = client.post(
        "/v1/members/zed/absences",
        json={"starts_at": "2026-03-06T00:00:00Z", "ends_at": "2026-03-07T00:00:00Z"},
    )
    assert stranger.status_code == 422
    assert stranger.json()["error"]["code"] == "unknown_member"
    assert [p["field"] for p in stranger.json()["error"]["problems"]] == ["member_id"]
    backwards = client.post(
        "/v1/members/erin/absences",
        json={"starts_at": "2026-03-07T00:00:00Z", "ends_at": "2026-03-06T00:00:00Z"},
    )
    assert backwards.status_code == 422
    assert [p["field"] for p in backwards.json()["error"]["problems"]] == ["ends_at"]
    naive = client.post(
        "/v1/members/erin/absences",
        json={"starts_at": "2026-03-06T00:00:00", "ends_at": "2026-03-07T00:00:00Z"},
    )
    assert naive.status_code == 422
    assert [p["field"] for p in naive.json()["error"]["problems"]] == ["starts_at"]
    assert client.get("/v1/members/erin/absences").json() == []
    assert client.get("/v1/members/zed/absences").status_code == 422


def test_teams_show_hours_holidays_working_days_and_the_escalation_lead(
    client: TestClient,
) -> None:
    intake = _team(client, "patient_intake")
    assert intake["time_zone"] == "America/New_York"
    assert intake["hours"]["monday"] == ["08:00-18:00"]
    assert "saturday" not in intake["hours"]
    assert "2026-01-19" in intake["holidays"]
    assert (intake["lead"], intake["assignment"]) == ("dana", "load_balanced")
    members = {m["id"]: m for m in intake["members"]}
    assert list(members) == ["luis", "priya", "sam", "dana"]
    assert members["sam"]["days"] == ["monday", "tuesday", "wednesday", "thursday"]
    assert members["luis"]["days"] is None
    assert (members["dana"]["capacity"], members["dana"]["open_leads"]) == (20, 0)
    playbooks = {t["playbook"] for t in client.get("/v1/teams").json()}
    assert {"specialty-clinic", "healthtech-b2b"} <= playbooks


def test_an_analyst_reads_teams_but_only_working_roles_route_leads(
    client: TestClient, database_url: str
) -> None:
    sales = create_key(database_url, "crm", "sales")
    analyst = create_key(database_url, "reports", "analyst")
    assert client.post("/v1/leads", json=CAREGIVER, headers=bearer(sales)).status_code == 201
    for event in CAREGIVER_EVENTS:
        client.post("/v1/events?wait=decision", json=event, headers=bearer(sales))
    assert _team(client, "patient_marketing", **bearer(analyst))["members"]
    refused = client.post(
        "/v1/leads/SC-001/assign", json={"owner": "erin"}, headers=bearer(analyst)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    absence = {"starts_at": "2026-03-06T00:00:00Z", "ends_at": "2026-03-07T00:00:00Z"}
    no_absence = client.post("/v1/members/erin/absences", json=absence, headers=bearer(analyst))
    assert no_absence.status_code == 403
    assert client.get("/v1/members/erin/absences", headers=bearer(analyst)).status_code == 200
    assert client.get("/v1/teams").status_code == 401
    done = client.post("/v1/leads/SC-001/assign", json={"owner": "erin"}, headers=bearer(sales))
    assert done.status_code == 200, done.text
    assert done.json()["route"]["owner"] == "erin"


def test_the_dashboard_assigns_with_a_form_and_shows_the_history(
    client: TestClient, sign_in: Callable[..., User]
) -> None:
    owner = _mql(client)["decision"]["route"]["owner"]
    other = "erin" if owner == "tomas" else "tomas"
    sign_in(client, "ana@northwind.example", "intake")
    page = client.get("/leads/SC-001")
    assert 'action="/leads/SC-001/assign"' in page.text
    assert f'<option value="{owner}" selected>' in page.text
    assert "2026-03-06 22:00 UTC" in page.text  # the SLA due time
    token = client.cookies["leadflow_csrf"]
    forged = client.post("/leads/SC-001/assign", data={"csrf": "forged", "owner": other})
    assert forged.status_code == 403
    done = client.post(
        "/leads/SC-001/assign", data={"csrf": token, "owner": other, "reason": "covering"}
    )
    assert done.status_code == 200
    assert "Owner changed." in done.text
    assert "manual: covering" in done.text
    assert f"owner {other}" in done.text
    history = client.get("/v1/leads/SC-001").json()["assignments"]
    assert (history[-1]["to_owner"], history[-1]["actor"]) == (
        other,
        "user:ana@northwind.example",
    )
    stranger = client.post("/leads/SC-001/assign", data={"csrf": token, "owner": "priya"})
    assert "not a member of team" in stranger.text
    client.post("/leads/SC-001/actions/reject", data={"csrf": token, "reason": "not_ready"})
    assert 'action="/leads/SC-001/assign"' not in client.get("/leads/SC-001").text


def test_the_cli_assigns_lists_teams_and_records_absences(
    client: TestClient, database_url: str
) -> None:
    owner = _mql(client)["decision"]["route"]["owner"]
    other = "erin" if owner == "tomas" else "tomas"
    runner = CliRunner()
    url = ["--database-url", database_url]
    done = runner.invoke(
        cli, ["assign", "SC-001", other, "--reason", "from the CLI", "--actor", "ana", *url]
    )
    assert done.exit_code == 0, done.output
    assert f"SC-001 assigned to {other} (queue patient_education" in done.stdout
    history = client.get("/v1/leads/SC-001").json()["assignments"]
    assert (history[-1]["reason"], history[-1]["actor"]) == ("manual: from the CLI", "user:ana")

    for args, words in [
        (["assign", "SC-001", "priya"], "not a member of team"),
        (["assign", "nobody", other], "no lead with id"),
        (["team", "away", "zed", "--from", "2026-03-06", "--until", "2026-03-07"], "zed"),
        (["team", "away", other, "--from", "2026-03-07", "--until", "2026-03-06"], "ends_at"),
    ]:
        failed = runner.invoke(cli, [*args, *url])
        assert failed.exit_code == 2, (args, failed.output)
        assert "error:" in failed.output, failed.output
        assert words in failed.output, failed.output

    away = runner.invoke(
        cli,
        ["team", "away", other, "--from", "2000-01-01", "--until", "2100-01-01T09:00Z", *url],
    )
    assert away.exit_code == 0, away.output
    assert f"{other} away from 2000-01-01T00:00:00+00:00" in away.stdout
    listed = runner.invoke(cli, ["team", "list", "--playbook", "specialty-clinic", *url])
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.stdout.splitlines() if f" {other} " in line]
    assert "2100-01-01 09:00 UTC" in row
    assert " 1 " in row  # the lead just assigned
    assert "patient_intake" in listed.stdout
    assert "Mon, Tue, Wed, Thu" in listed.stdout
    every = runner.invoke(cli, ["team", "list", *url])
    assert "healthtech-b2b teams" in every.stdout
