"""Routing, assignment and the first-outreach SLA clock, branch by branch, on in-memory
repositories (the same use cases run on both databases in ``tests/store``).

The specialty clinic's ``patient_scheduling`` queue: the intake team (New York hours 08-18,
load balanced; Sam works Monday to Thursday; Dana leads), an MQL in the high band has one
business hour, a reminder 15 business minutes before, reassignment one business hour after
a breach.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.fakes.store import FakeDatabase, FakeUnitOfWork

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.decision import Decision, Route
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.errors import NotRoutedError, UnknownMemberError
from leadflow.services.routing.assign import route_decision
from leadflow.services.routing.sla import (
    RETRY_REASSIGN,
    SLA_BREACHED,
    assign_by_hand,
    assign_waiting,
    check_clock,
    run_due,
)
from leadflow.services.store.ports import CurrentDecision

PLAYBOOK = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
ACTOR = "rule:routing"


def _playbooks(name: str) -> Playbook:
    assert name == PLAYBOOK.id
    return PLAYBOOK


def _decision(
    stage: Stage = Stage.MQL, queue: str | None = "patient_scheduling", band: str = "high"
) -> Decision:
    return Decision(
        "L-1", stage, "ready", 60.0, 40.0, band, (), (), None, "call", Route(queue),
        PLAYBOOK.id, PLAYBOOK.version,
    )  # fmt: skip


def _route(
    uow: FakeUnitOfWork, decision: Decision, at: datetime = NOW, changed: bool = True, **kw: object
) -> Decision:
    uow.leads.decisions["L-1"] = CurrentDecision(decision.stage.value, decision.to_record(), at)
    return route_decision(
        uow,
        PLAYBOOK,
        decision,
        changed=changed,
        events=kw.pop("events", ()),
        at=at,
        actor=ACTOR,  # type: ignore[arg-type]
    )


def test_a_new_mql_goes_to_the_first_free_member_with_a_clock_and_a_record_of_why() -> None:
    uow = FakeUnitOfWork()
    routed = _route(uow, _decision())
    assert routed.route == Route("patient_scheduling", "luis", NOW + timedelta(hours=1))
    route = uow.routing.routes["L-1"]
    assert (route.team_id, route.owner, route.open, route.manual) == (
        "patient_intake",
        "luis",
        True,
        False,
    )
    [change] = uow.routing.assignments
    assert (change.from_owner, change.to_owner, change.reason) == (None, "luis", "routed")
    assert uow.audit.actions() == ["lead.assigned"]
    assert uow.outbox.types() == ["lead.assigned"]
    [clock] = uow.routing.clocks
    assert (clock.due_at, clock.remind_at) == (
        NOW + timedelta(hours=1),
        NOW + timedelta(minutes=45),
    )
    assert clock.next_check_at == clock.remind_at


def test_load_balancing_spreads_leads_and_skips_members_who_are_away() -> None:
    uow = FakeUnitOfWork()
    uow.routing.add_absence(
        "luis", starts_at=NOW, ends_at=NOW + timedelta(days=2), note=None, by="t", at=NOW
    )
    owners = []
    for n in range(3):
        decision = replace(_decision(), lead_id=f"L-{n}")
        uow.leads.decisions[decision.lead_id] = CurrentDecision("mql", {}, NOW)
        owners.append(
            route_decision(
                uow, PLAYBOOK, decision, changed=True, events=(), at=NOW, actor=ACTOR
            ).route.owner
        )
    assert owners == ["priya", "sam", "dana"]


def test_a_lead_waits_unassigned_when_everyone_is_away_and_is_assigned_later() -> None:
    uow = FakeUnitOfWork()
    team = PLAYBOOK.team("patient_intake")
    assert team is not None
    for member in team.members:
        uow.routing.add_absence(
            member.id, starts_at=NOW, ends_at=NOW + timedelta(hours=2), note=None, by="t", at=NOW
        )
    assert _route(uow, _decision()).route.owner is None
    [waiting] = uow.routing.unassigned_routes(10)
    assert not assign_waiting(uow, PLAYBOOK, waiting, NOW)
    later = NOW + timedelta(hours=3)
    assert assign_waiting(uow, PLAYBOOK, waiting, later)
    assert uow.routing.routes["L-1"].owner == "luis"
    assert uow.routing.clocks[0].owner == "luis"  # the running clock follows its lead
    assert uow.leads.decisions["L-1"].record["route"]["owner"] == "luis"


def test_a_stage_change_in_the_same_team_keeps_the_owner_and_restarts_the_clock() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    later = NOW + timedelta(minutes=30)
    routed = _route(uow, _decision(Stage.SQL), at=later)
    assert routed.route.owner == "luis"
    assert len(uow.routing.assignments) == 1  # no new assignment
    first, second = uow.routing.clocks
    assert (first.closed_reason, second.stage, second.running) == ("stage_changed", "sql", True)
    assert second.due_at == later + timedelta(hours=1)


def test_a_band_rise_requeues_the_mql_with_its_clock_to_the_new_queue_and_team() -> None:
    db = FakeDatabase()
    _route(db.uow, _decision(queue="patient_education", band="mid"))
    assert db.uow.routing.routes["L-1"].owner == "tomas"  # the marketing team
    later = NOW + timedelta(hours=2)
    routed = _route(db.uow, _decision(band="high"), at=later, changed=False)
    route = db.uow.routing.routes["L-1"]
    assert (route.queue, route.team_id, route.owner) == (
        "patient_scheduling",
        "patient_intake",
        "luis",
    )
    old, new = db.uow.routing.clocks
    assert (old.closed_reason, old.running) == ("requeued", False)
    assert (new.queue, new.team_id, new.owner, new.sla) == (
        "patient_scheduling",
        "patient_intake",
        "luis",
        "1 business hour",
    )
    assert new.started_at == later
    assert routed.route.sla_due_at == later + timedelta(hours=1)
    # the breach escalates to the intake team's lead, and reassignment stays in that team
    due = later + timedelta(hours=1)
    assert run_due(db.run, _playbooks, due, 10).escalated == 1
    assert ("sla_escalation", "dana") in [(n.kind, n.member_id) for n in db.uow.routing.notices]
    assert run_due(db.run, _playbooks, due + timedelta(hours=1), 10).reassigned == 1
    intake = PLAYBOOK.team("patient_intake")
    assert intake is not None
    assert intake.member(db.uow.routing.routes["L-1"].owner or "")


def test_a_band_change_in_the_same_queue_restarts_the_clock_with_the_bands_sla() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision(band="high"))
    later = NOW + timedelta(minutes=30)
    _route(uow, _decision(band="mid"), at=later, changed=False)
    old, new = uow.routing.clocks
    assert (old.closed_reason, new.sla, new.owner) == ("requeued", "2 business hours", "luis")
    assert new.due_at == later + timedelta(hours=2)
    assert len(uow.routing.assignments) == 1  # same team: the owner stays


def test_the_same_decision_again_keeps_the_running_clock() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    _route(uow, _decision(), at=NOW + timedelta(minutes=10), changed=False)
    [clock] = uow.routing.clocks
    assert clock.running
    assert clock.started_at == NOW


def test_a_clock_left_on_another_queue_closes_as_requeued() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    uow.routing.routes["L-1"] = replace(uow.routing.routes["L-1"], queue="patient_education")
    [clock] = uow.routing.clocks
    check_clock(uow, _playbooks, clock, NOW + timedelta(hours=2))
    assert uow.routing.clocks[0].closed_reason == "requeued"
    assert uow.routing.notices == []


def test_leaving_the_routed_stages_closes_the_route_and_its_clock() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    _route(uow, _decision(Stage.NURTURE, queue=None), at=NOW + timedelta(minutes=5))
    assert not uow.routing.routes["L-1"].open
    assert uow.routing.clocks[0].closed_reason == "stage_changed"


def test_the_first_outreach_stops_the_clock() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    call = Event(
        "o-1", "L-1", EventType.OUTREACH_LOGGED, NOW + timedelta(minutes=20), {"channel": "phone"}
    )
    decision = _decision()
    at = NOW + timedelta(minutes=21)
    route_decision(uow, PLAYBOOK, decision, changed=False, events=[call], at=at, actor=ACTOR)
    [clock] = uow.routing.clocks
    assert (clock.stopped_at, clock.stop_event_id, clock.next_check_at) == (
        call.occurred_at,
        "o-1",
        None,
    )


def test_the_clock_reminds_then_breaches_escalates_and_reassigns_on_time() -> None:
    db = FakeDatabase()
    _route(db.uow, _decision())
    remind, due = NOW + timedelta(minutes=45), NOW + timedelta(hours=1)
    assert run_due(db.run, _playbooks, remind - timedelta(seconds=1), 10).reminded == 0
    assert run_due(db.run, _playbooks, remind, 10).reminded == 1
    report = run_due(db.run, _playbooks, due, 10)
    assert (report.breached, report.escalated) == (1, 1)
    notices = [(n.kind, n.member_id) for n in db.uow.routing.notices]
    assert notices == [("sla_reminder", "luis"), ("sla_breach", "luis"), ("sla_escalation", "dana")]
    assert all("L-1" in n.body and "@" not in n.body for n in db.uow.routing.notices)
    assert SLA_BREACHED in db.uow.outbox.types()
    assert db.uow.audit.actions()[-2:] == ["sla.reminded", "sla.breached"]
    assert run_due(db.run, _playbooks, due + timedelta(minutes=59), 10).reassigned == 0
    assert run_due(db.run, _playbooks, due + timedelta(hours=1), 10).reassigned == 1
    assert db.uow.routing.routes["L-1"].owner == "priya"
    assert db.uow.routing.assignments[-1].reason == "sla_reassigned"
    old, fresh = db.uow.routing.clocks
    assert (old.closed_reason, old.reassigned_at) == ("reassigned", due + timedelta(hours=1))
    assert (fresh.owner, fresh.running) == ("priya", True)
    assert db.uow.routing.notices[-1].kind == "assigned"


def test_reassignment_with_nobody_free_tries_again_shortly() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    due = NOW + timedelta(hours=1)
    [clock] = uow.routing.clocks
    check_clock(uow, _playbooks, replace(clock, reminded_at=NOW), due)
    team = PLAYBOOK.team("patient_intake")
    assert team is not None
    at = due + timedelta(hours=1)
    for member in team.members:
        uow.routing.add_absence(
            member.id, starts_at=NOW, ends_at=at + timedelta(days=1), note=None, by="t", at=NOW
        )
    [breached] = uow.routing.clocks
    report = check_clock(uow, _playbooks, breached, at)
    assert report.reassigned == 0
    [clock] = uow.routing.clocks
    assert clock.reassign_at == clock.next_check_at == at + RETRY_REASSIGN


def test_a_clock_whose_lead_left_its_stage_closes_without_notices() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision())
    uow.routing.routes["L-1"] = replace(uow.routing.routes["L-1"], stage="sql")
    [clock] = uow.routing.clocks
    assert check_clock(uow, _playbooks, clock, NOW + timedelta(hours=2)).closed == 1
    assert uow.routing.clocks[0].closed_reason == "stage_changed"
    assert uow.routing.notices == []


def test_assigning_by_hand_checks_the_member_and_the_route() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(NotRoutedError):
        assign_by_hand(uow, PLAYBOOK, "L-1", "priya", actor="user:1", at=NOW)
    _route(uow, _decision())
    with pytest.raises(UnknownMemberError, match="members: luis, priya, sam, dana"):
        assign_by_hand(uow, PLAYBOOK, "L-1", "tomas", actor="user:1", at=NOW)
    moved = assign_by_hand(uow, PLAYBOOK, "L-1", "priya", actor="user:1", at=NOW, reason="VIP")
    assert (moved.owner, moved.manual) == ("priya", True)
    assert uow.routing.assignments[-1].reason == "manual: VIP"
    assert uow.outbox.queued[-1][1]["data"]["reason"] == "manual"  # never the typed text
