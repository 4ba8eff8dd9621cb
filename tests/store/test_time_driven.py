"""Time passing re-decides leads on its own: the worker takes the leads whose decision time
alone may have changed (decayed intent, a recheck date), decides them like an event would,
and reads no other lead (``services/store/time_driven.py``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from leadflow.domain.qualify import qualify
from leadflow.entrypoints.bootstrap import App
from leadflow.services.store.time_driven import WORKER, redecide_due
from tests.factories import CAREGIVER, CAREGIVER_EVENTS
from tests.fakes import FakeClock


def _mql(client: TestClient) -> None:
    assert client.post("/v1/leads", json=CAREGIVER).status_code == 201
    for event in CAREGIVER_EVENTS:
        assert client.post("/v1/events?wait=decision", json=event).status_code == 201
    assert client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql"


def _stage_if_decided_now(app: App) -> str:
    with app.db.unit_of_work() as uow:
        lead = uow.leads.get_lead("SC-001")
        assert lead is not None
        events = uow.leads.events_of("SC-001")
    return qualify(lead.profile, events, app.playbooks(lead.playbook), app.clock()).stage.value


def test_a_cooling_mql_leaves_the_queue_on_its_own_when_its_intent_has_decayed(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    _mql(client)
    decided, day = 0, 0
    while client.get("/v1/leads/SC-001").json()["decision"]["stage"] == "mql" and day < 90:
        clock.advance(days=1)
        day += 1
        decided += redecide_due(app.db.run, app.playbooks, clock()).decided
    lead = client.get("/v1/leads/SC-001").json()
    assert lead["decision"]["stage"] == "nurture", f"still {lead['decision']['stage']}"
    assert lead["stage_history"][-1]["actor"] == WORKER
    # the day before, deciding it would still have given MQL: it left on its first day out
    clock.advance(days=-1)
    assert _stage_if_decided_now(app) == "mql"
    # it was read once, when its instant came, not on each of the `day` passes
    assert decided == 1, f"{decided} re-decisions over {day} days"
    with app.db.view() as view:
        assert view.open_route("SC-001") is None  # its route and clock closed with the MQL


def test_a_pass_with_nothing_due_reads_no_lead(
    app: App, client: TestClient, clock: FakeClock
) -> None:
    _mql(client)
    assert redecide_due(app.db.run, app.playbooks, clock()).decided == 0
    clock.advance(hours=1)
    assert redecide_due(app.db.run, app.playbooks, clock()).decided == 0
