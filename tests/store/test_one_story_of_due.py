"""My queue, the lead page and the outreach report tell one story of what was due and missed:
a lead reassigned after a missed first outreach stays overdue everywhere until reached."""

from __future__ import annotations

from fastapi.testclient import TestClient

from leadflow.entrypoints.bootstrap import App
from leadflow.services.routing.sla import run_due
from tests.factories import CAREGIVER, CAREGIVER_EVENTS
from tests.fakes import FakeClock


def _queue_row(client: TestClient) -> str:
    page = client.get("/queue").text
    start = page.index("SC-001")
    return page[start : page.index("</tr>", start)]


def test_a_lead_reassigned_after_a_breach_stays_overdue_until_someone_reaches_it(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    for event in CAREGIVER_EVENTS:
        assert client.post("/v1/events?wait=decision", json=event).status_code == 201
    first_owner = client.get("/v1/leads/SC-001").json()["decision"]["route"]["owner"]
    reassigned = 0
    for _ in range(40):  # past the due time (one business day), then past the reassignment
        clock.advance(hours=3)
        reassigned += run_due(app.db.run, app.playbooks, clock(), 50).reassigned
        if reassigned:
            break
    lead = client.get("/v1/leads/SC-001").json()
    clocks = lead["sla"]
    assert [c["closed_reason"] for c in clocks] == ["reassigned", None]
    assert lead["decision"]["route"]["owner"] != first_owner
    assert clocks[-1]["due_at"] > clock().isoformat()  # the new owner's clock is not due yet

    assert "(overdue)" in _queue_row(client)
    assert "overdue by" in client.get("/leads/SC-001").text
    report = client.get("/v1/reports/outreach").json()
    assert report["summary"]["sla_missed"] == 1

    reached = {
        "event_id": "call-1",
        "lead_id": "SC-001",
        "type": "outreach_logged",
        "occurred_at": clock().isoformat(),
        "properties": {"channel": "email"},
    }
    assert client.post("/v1/events?wait=decision", json=reached).status_code == 201
    assert "(overdue)" not in _queue_row(client)
    assert client.get("/v1/reports/outreach").json()["summary"]["sla_missed"] == 1
