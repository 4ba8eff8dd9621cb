"""Ingest appends, deciders decide (issue 13): ``POST /v1/events`` and webhooks answer
``202 Accepted`` with the touched leads queued, and a decider decides each of them once —
as the request would have decided them with ``?wait=decision``. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadflow.domain.playbook import Playbook
from leadflow.entrypoints.bootstrap import App
from leadflow.services.store.decider import DecideReport, decide_queued
from tests.factories import CAREGIVER, CAREGIVER_EVENTS
from tests.fakes import FakeClock
from tests.store.conftest import webhook_headers

TWIN = {
    **CAREGIVER,
    "lead_id": "SC-002",
    "first_name": "Robin",
    "email": "robin.twin@example.com",
    "phone": "(617) 555-0199",
}


def _events_of(lead_id: str, prefix: str) -> list[dict[str, Any]]:
    return [
        {**event, "lead_id": lead_id, "event_id": f"{prefix}-{n}"}
        for n, event in enumerate(CAREGIVER_EVENTS)
    ]


def _decide(app: App) -> DecideReport:
    return decide_queued(app.db.run, app.playbooks, app.clock)


def _same_decision(decision: dict[str, Any]) -> str:
    """The decision without what names the lead, its owner or its events' ids."""
    kept = {k: v for k, v in decision.items() if k not in ("lead_id", "route", "decided_at")}
    return json.dumps(kept, sort_keys=True).replace('"a-', '"x-').replace('"b-', '"x-')


def test_an_event_is_accepted_at_once_and_decided_by_the_decider_as_the_request_would(
    app: App, client: TestClient
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    assert client.post("/v1/leads", json=TWIN).status_code == 201
    before = client.get("/v1/leads/SC-001").json()["decision"]["stage"]

    accepted = client.post("/v1/events", json={"events": _events_of("SC-001", "a")})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {
        "stored": ["a-0", "a-1", "a-2"],
        "duplicates": [],
        "leads": [],
        "queued": ["SC-001"],
    }
    waiting = client.get("/v1/leads/SC-001").json()
    assert waiting["decision_pending"] is True
    assert waiting["decision"]["stage"] == before  # not decided yet
    assert [e["event_id"] for e in waiting["timeline"]] == ["a-0", "a-1", "a-2"]

    decided_now = client.post(
        "/v1/events?wait=decision", json={"events": _events_of("SC-002", "b")}
    )
    assert decided_now.status_code == 201, decided_now.text
    assert decided_now.json()["leads"][0]["stage"] == "mql"

    report = _decide(app)
    assert (report.leads, report.changed) == (1, 1)
    lead = client.get("/v1/leads/SC-001").json()
    twin = client.get("/v1/leads/SC-002").json()
    assert lead["decision_pending"] is False
    assert lead["decision"]["stage"] == "mql"
    assert _same_decision(lead["decision"]) == _same_decision(twin["decision"])
    assert [h["to_stage"] for h in lead["stage_history"]] == [
        h["to_stage"] for h in twin["stage_history"]
    ]
    # the stage change is the appending caller's, pointing at the last event it appended
    assert lead["stage_history"][-1]["actor"] == twin["stage_history"][-1]["actor"]
    assert lead["stage_history"][-1]["event_id"] == "a-2"
    # nothing waits any more, and a second round decides nothing
    assert _decide(app).leads == 0


def test_a_lead_with_many_appended_events_is_decided_once_per_round(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    for n in range(12):
        event = {
            "event_id": f"view-{n}",
            "lead_id": "SC-001",
            "type": "page_viewed",
            "occurred_at": "2026-03-06T09:10:00Z",
            "properties": {"url": f"https://northwind.example/schedule/dermatology?{n}"},
        }
        assert client.post("/v1/events", json=event).status_code == 202
        clock.advance(seconds=1)
    report = _decide(app)
    assert report.leads == 1
    assert report.batches == 1
    # it waited from its first appended event, not its last
    assert report.longest_wait_s == pytest.approx(12.0)
    history = client.get("/v1/leads/SC-001").json()["stage_history"]
    assert len(history) == len({(h["from_stage"], h["to_stage"]) for h in history})


def test_a_copy_is_200_and_queues_nothing(app: App, client: TestClient) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    assert client.post("/v1/events", json=CAREGIVER_EVENTS[0]).status_code == 202
    assert _decide(app).leads == 1
    again = client.post("/v1/events", json=CAREGIVER_EVENTS[0])
    assert again.status_code == 200
    assert again.json()["queued"] == []
    assert _decide(app).leads == 0


def test_an_idempotent_retry_gets_the_same_202_answer(app: App, client: TestClient) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    headers = {"Idempotency-Key": "retry-1"}
    first = client.post("/v1/events", json=CAREGIVER_EVENTS[0], headers=headers)
    again = client.post("/v1/events", json=CAREGIVER_EVENTS[0], headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert _decide(app).leads == 1


def test_an_event_for_an_unknown_lead_is_refused_before_anything_is_queued(
    app: App, client: TestClient
) -> None:
    refused = client.post("/v1/events", json={**CAREGIVER_EVENTS[0], "lead_id": "nobody"})
    assert refused.status_code == 404
    assert _decide(app).leads == 0


def test_an_unsubscribe_takes_effect_at_once_while_the_decision_waits(
    app: App, client: TestClient
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    stop = {
        "event_id": "unsub-1",
        "lead_id": "SC-001",
        "type": "unsubscribed",
        "occurred_at": "2026-03-06T10:00:00Z",
        "properties": {"channel": "email"},
    }
    assert client.post("/v1/events", json=stop).status_code == 202
    with app.db.unit_of_work() as uow:
        assert uow.pending.is_pending("SC-001")
        email = [c for c in uow.leads.consents_of("SC-001") if c.channel == "email"]
    assert email[-1].status == "revoked"


def test_a_failed_round_leaves_its_leads_queued_and_the_next_decides_them(
    app: App, client: TestClient
) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    assert client.post("/v1/events", json={"events": _events_of("SC-001", "a")}).status_code == 202

    def broken(_name: str) -> Playbook:
        raise RuntimeError("the playbook store is down")

    with pytest.raises(RuntimeError):
        decide_queued(app.db.run, broken, app.clock)
    assert client.get("/v1/leads/SC-001").json()["decision_pending"] is True
    assert _decide(app).leads == 1
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql"


def test_deciders_side_by_side_decide_every_lead_exactly_once(app: App, client: TestClient) -> None:
    # On PostgreSQL they take different leads (SKIP LOCKED); on SQLite they take turns.
    leads = 60
    for n in range(leads):
        lead = {
            **CAREGIVER,
            "lead_id": f"P-{n}",
            "email": f"p{n}@example.com",
            "phone": f"(617) 555-{1000 + n}",
        }
        assert client.post("/v1/leads", json=lead).status_code == 201
        assert (
            client.post("/v1/events", json={"events": _events_of(f"P-{n}", f"p{n}")}).status_code
            == 202
        )
    reports: list[DecideReport] = []
    start = threading.Barrier(3)

    def decider() -> None:
        start.wait()
        reports.append(decide_queued(app.db.run, app.playbooks, app.clock, limit=5))

    threads = [threading.Thread(target=decider) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.leads for r in reports) == leads
    assert sum(r.changed for r in reports) == leads
    for n in range(leads):
        lead = client.get(f"/v1/leads/P-{n}").json()
        assert lead["decision"]["stage"] == "mql"
        assert [h["to_stage"] for h in lead["stage_history"]].count("mql") == 1


def test_a_webhook_delivery_is_accepted_and_its_lead_decided_later(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    payload = {
        "lead": {
            "external_id": "typeform-7001",
            "lead_type": "patient",
            "email": "riley@example.org",
            "service_line": "cardiology",
            "state": "MA",
            "country": "US",
        },
        "events": [{"type": "form_submitted", "occurred_at": "2026-03-06T11:58:00Z"}],
    }
    body = json.dumps(payload).encode()
    stamp = int(clock.now.timestamp())
    headers = webhook_headers("msg_deferred", stamp, body)
    answer = client.post("/v1/webhooks/forms", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    written = answer.json()
    assert written["lead"]["queued"] is True
    assert written["lead"]["decision"] is None
    lead_id = written["lead"]["lead_id"]
    assert written["events"]["queued"] == [lead_id]
    assert client.get(f"/v1/leads/{lead_id}").json()["decision"] is None
    # the same delivery again is answered as the first time
    again = client.post("/v1/webhooks/forms", content=body, headers=headers)
    assert (again.status_code, again.json()) == (202, written)
    assert _decide(app).leads == 1
    decided = client.get(f"/v1/leads/{lead_id}").json()
    assert decided["decision"]["lead_id"] == lead_id
    assert decided["decision_pending"] is False
