"""Clock purposes, the rep who acts keeping the lead, and tasks — over HTTP and the
dashboard, on SQLite and PostgreSQL.

The seeds' caregiver becomes a mid-band MQL of specialty-clinic, routed to marketing's
``patient_education``. Priya, an intake coordinator, accepts it and completes discovery from
the dashboard: she keeps the lead (intake's strategy would have given it to Luis), and the
SQL's clock is for its appointment, with a task for her to book it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.adapters.db.tables import AuditRow, SlaClockRow
from leadflow.entrypoints.bootstrap import App
from leadflow.services.accounts import User
from tests.factories import CAREGIVER, CAREGIVER_EVENTS, bearer, create_key


def _mql(client: TestClient) -> None:
    assert client.post("/v1/leads", json={**CAREGIVER, "lead_id": "SC-001"}).status_code == 201
    for event in CAREGIVER_EVENTS:
        response = client.post("/v1/events?wait=decision", json={**event, "lead_id": "SC-001"})
        assert response.status_code == 201, response.text
    route = client.get("/v1/leads/SC-001").json()["decision"]["route"]
    assert route["queue"] == "patient_education"


def _rows(app: App, table: Any) -> list[Any]:
    with app.db.read() as session:
        return list(session.execute(select(table.__table__)))


def _to_sql_as_priya(client: TestClient, sign_in: Callable[..., User]) -> str:
    _mql(client)
    sign_in(client, "priya@northwind.example", "intake", "Priya Natarajan")
    token = client.cookies["leadflow_csrf"]
    assert client.post("/leads/SC-001/actions/accept", data={"csrf": token}).status_code == 200
    done = client.post(
        "/leads/SC-001/actions/discovery",
        data={
            "csrf": token,
            "need_confirmed": "yes",
            "eligibility_confirmed": "yes",
            "next_step": "appointment agreed",
        },
    )
    assert 'id="stage">sql' in done.text
    return token


def test_the_rep_who_did_discovery_keeps_the_sql_and_is_due_to_book_its_appointment(
    app: App, client: TestClient, sign_in: Callable[..., User]
) -> None:
    _to_sql_as_priya(client, sign_in)
    decision = client.get("/v1/leads/SC-001").json()["decision"]
    assert decision["route"]["owner"] == "priya"
    clocks = [(c.stage, c.purpose, c.owner) for c in _rows(app, SlaClockRow)]
    assert clocks[-3:] == [
        ("mql", "first_outreach", "tomas"),
        ("sales_accepted", "discovery", "priya"),
        ("sql", "appointment", "priya"),
    ]
    page = client.get("/leads/SC-001").text
    assert "Appointment to schedule due in" in page
    assert "first outreach due" not in page.lower()

    tasks = client.get("/v1/tasks", params={"owner": "priya"}).json()
    assert [(t["lead_id"], t["kind"], t["label"], t["owner"]) for t in tasks] == [
        ("SC-001", "appointment", "Appointment to schedule", "priya")
    ]
    due = datetime.fromisoformat(decision["route"]["sla_due_at"])
    assert datetime.fromisoformat(tasks[0]["due_at"]) == due
    assert client.get("/v1/tasks", params={"owner": "luis"}).json() == []
    queue = client.get("/queue", params={"mine": "true"}).text
    assert "Appointment to schedule" in queue
    assert "SC-001" in queue


def test_reps_add_tasks_and_close_them_with_a_reason_code(
    app: App, client: TestClient, sign_in: Callable[..., User]
) -> None:
    token = _to_sql_as_priya(client, sign_in)
    key = bearer(create_key(app.settings.database_url, "intake-tool", "intake"))
    added = client.post(
        "/v1/leads/SC-001/tasks",
        json={"kind": "callback", "due_at": "2026-03-09T15:00:00Z"},
        headers=key,
    )
    assert added.status_code == 201, added.text
    callback = added.json()
    assert (callback["kind"], callback["label"], callback["owner"]) == (
        "callback",
        "Call back",
        "priya",
    )
    bad = client.post(
        "/v1/leads/SC-001/tasks", json={"kind": "upsell", "due_at": "2026-03-09"}, headers=key
    )
    assert bad.status_code == 422
    missing = client.post(
        "/v1/leads/NOBODY/tasks",
        json={"kind": "callback", "due_at": "2026-03-09T15:00:00Z"},
        headers=key,
    )
    assert missing.status_code == 404

    dismiss = f"/v1/tasks/{callback['id']}/dismiss"
    free_text = client.post(dismiss, json={"reason": "has COPD"}, headers=key)
    assert free_text.status_code == 422
    assert "reason" in free_text.text
    dismissed = client.post(dismiss, json={"reason": "unreachable"}, headers=key)
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["close_reason"]) == (
        "dismissed",
        "unreachable",
    )
    assert client.post("/v1/tasks/999999/done", headers=key).status_code == 404

    (appointment,) = client.get("/v1/tasks", params={"lead_id": "SC-001"}).json()
    done = client.post(
        f"/tasks/{appointment['id']}/done", data={"csrf": token, "back": "/leads/SC-001"}
    )
    assert done.status_code == 200
    assert "Task done." in done.text
    assert client.get("/v1/tasks", params={"lead_id": "SC-001"}).json() == []
    closed = client.get("/v1/tasks", params={"lead_id": "SC-001", "status": "done"}).json()
    assert [t["closed_by"] for t in closed] == ["user:priya@northwind.example"]
    actions = [r.action for r in _rows(app, AuditRow) if r.action.startswith("task.")]
    assert actions == ["task.created", "task.dismissed", "task.done"]
    forged = client.post(f"/tasks/{appointment['id']}/dismiss", data={"csrf": "forged"})
    assert forged.status_code in {400, 403}
