"""What each clock is for, who keeps a lead a rep acted on, and the tasks that come with
clocks — on in-memory repositories, with the specialty clinic's queues (``patient_education``
for mid-band MQLs, owned by marketing; ``patient_scheduling`` for accepted leads and SQLs,
owned by intake, whose SQL clock is for the appointment)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.fakes.store import FakeUnitOfWork

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.playbook_yaml.checks import check_teams
from leadflow.domain.calendar import parse_sla
from leadflow.domain.decision import Decision, Route
from leadflow.domain.events import Event, EventType
from leadflow.domain.lifecycle import NO_TIMELINE, SalesState, recheck_date
from leadflow.domain.profile import LeadProfile
from leadflow.domain.purposes import Purpose
from leadflow.domain.stages import Stage
from leadflow.errors import InvalidRecordError, TaskNotFoundError
from leadflow.services.reports.facts import ClockFact
from leadflow.services.routing.assign import route_decision
from leadflow.services.routing.due import handoff_state
from leadflow.services.routing.tasks import add_task, close_task
from leadflow.services.store.ports import CurrentDecision, StoredLead

PLAYBOOK = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
PRIYA = "user:Priya@Northwind.example"  # signed in; matched to the member by email


def _decision(stage: Stage, queue: str | None, band: str = "mid", **kw: object) -> Decision:
    base = Decision(
        "L-1", stage, "ready", 60.0, 20.0, band, (), (), None, "call", Route(queue),
        PLAYBOOK.id, PLAYBOOK.version,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _route(
    uow: FakeUnitOfWork,
    decision: Decision,
    at: datetime,
    *,
    actor: str = "rule:routing",
    events: tuple[Event, ...] = (),
    changed: bool = True,
) -> Decision:
    uow.leads.decisions["L-1"] = CurrentDecision(decision.stage.value, decision.to_record(), at)
    return route_decision(
        uow, PLAYBOOK, decision, changed=changed, events=events, at=at, actor=actor
    )


def _store_lead(uow: FakeUnitOfWork) -> None:
    uow.leads.add_lead(StoredLead("L-1", PLAYBOOK.id, LeadProfile("L-1"), NOW, NOW))


def _event(kind: EventType, at: datetime, n: int = 1) -> Event:
    return Event(f"e-{n}", "L-1", kind, at)


def test_the_rep_who_accepts_keeps_the_lead_and_the_sql_is_due_for_its_appointment() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision(Stage.MQL, "patient_education"), NOW)
    [first] = uow.routing.clocks
    assert (first.purpose, uow.routing.routes["L-1"].owner) == ("first_outreach", "tomas")

    accepted_at = NOW + timedelta(hours=1)
    routed = _route(
        uow, _decision(Stage.SALES_ACCEPTED, "patient_scheduling"), accepted_at, actor=PRIYA
    )
    assert routed.route.owner == "priya"  # not the strategy's pick (luis): she accepted it
    assert uow.routing.assignments[-1].reason == "taken"
    assert uow.routing.clocks[-1].purpose == "discovery"

    sql_at = accepted_at + timedelta(hours=2)
    discovery = _event(EventType.DISCOVERY_COMPLETED, sql_at)
    routed = _route(
        uow,
        _decision(Stage.SQL, "patient_scheduling"),
        sql_at,
        actor=PRIYA,
        events=(discovery,),
    )
    assert routed.route.owner == "priya"
    discovery_clock, sql_clock = uow.routing.clocks[-2:]
    assert discovery_clock.stopped_at == sql_at  # the discovery did what it was for
    assert (sql_clock.purpose, sql_clock.owner, sql_clock.sla) == (
        "appointment",
        "priya",
        "1 business hour",
    )
    [task] = uow.tasks.open_tasks("L-1")
    assert (task.kind, task.due_at, task.created_by) == (
        "appointment",
        sql_clock.due_at,
        "rule:appointment",
    )

    booked_at = sql_at + timedelta(minutes=20)
    booked = _event(EventType.APPOINTMENT_SCHEDULED, booked_at, 2)
    _route(
        uow,
        _decision(Stage.SQL, "patient_scheduling"),
        booked_at,
        events=(discovery, booked),
        changed=False,
    )
    assert uow.routing.clocks[-1].stopped_at == booked_at
    assert uow.tasks.open_tasks("L-1") == []
    [done] = uow.tasks.tasks
    assert (done.status, done.close_reason) == ("done", "done_by_event")


def test_an_outreach_does_not_stop_a_clock_that_waits_for_an_appointment() -> None:
    uow = FakeUnitOfWork()
    _route(uow, _decision(Stage.SQL, "patient_scheduling"), NOW)
    called = _event(EventType.OUTREACH_LOGGED, NOW + timedelta(minutes=5))
    _route(
        uow,
        _decision(Stage.SQL, "patient_scheduling"),
        NOW + timedelta(minutes=6),
        events=(called,),
        changed=False,
    )
    [clock] = uow.routing.clocks
    assert clock.running
    assert clock.purpose == "appointment"


def test_a_member_of_another_team_acting_does_not_take_the_lead() -> None:
    uow = FakeUnitOfWork()
    routed = _route(
        uow,
        _decision(Stage.SALES_ACCEPTED, "patient_scheduling"),
        NOW,
        actor="user:erin@northwind.example",
    )
    assert routed.route.owner == "luis"  # Erin is marketing: intake's strategy picks
    assert uow.routing.assignments[-1].reason == "routed"


def test_a_no_timeline_mql_gets_its_recheck_clock_and_task_on_the_recheck_date() -> None:
    uow = FakeUnitOfWork()
    recheck = NOW + timedelta(days=30)
    parked = _decision(Stage.MQL, "patient_education", status=NO_TIMELINE, recheck_at=recheck)
    routed = _route(uow, parked, NOW)
    [clock] = uow.routing.clocks
    assert (clock.purpose, clock.started_at, clock.sla) == ("recheck", recheck, "1 business day")
    assert clock.due_at > recheck  # not the MQL's first-outreach day from now
    assert routed.route.sla_due_at == clock.due_at
    [task] = uow.tasks.open_tasks("L-1")
    assert (task.kind, task.due_at) == ("recheck", recheck)

    # engagement before the date brings the recheck forward: a new clock and task, now
    sooner = NOW + timedelta(days=3)
    _route(uow, replace(parked, recheck_at=sooner), sooner, changed=False)
    old, new = uow.routing.clocks
    assert (old.closed_reason, new.started_at) == ("requeued", sooner)
    [task] = uow.tasks.open_tasks("L-1")
    assert (task.kind, task.due_at) == ("recheck", sooner)
    assert [t.close_reason for t in uow.tasks.tasks if t.status != "open"] == ["rescheduled"]


def test_a_reps_task_stays_until_the_lead_is_closed_and_rule_tasks_end_with_their_stage() -> None:
    uow = FakeUnitOfWork()
    _store_lead(uow)
    _route(uow, _decision(Stage.SQL, "patient_scheduling"), NOW)
    callback = add_task(
        uow, "L-1", "callback", NOW + timedelta(days=1), actor="user:luis@northwind.example", at=NOW
    )
    assert {t.kind for t in uow.tasks.open_tasks("L-1")} == {"appointment", "callback"}
    _route(uow, _decision(Stage.OPPORTUNITY, "patient_scheduling"), NOW + timedelta(hours=1))
    [still] = uow.tasks.open_tasks("L-1")
    assert still.id == callback.id
    appointment = next(t for t in uow.tasks.tasks if t.kind == "appointment")
    assert (appointment.status, appointment.close_reason) == ("dismissed", "stage_changed")
    _route(uow, _decision(Stage.WON, None), NOW + timedelta(hours=2))
    assert uow.tasks.open_tasks("L-1") == []
    assert uow.tasks.get_task(callback.id).close_reason == "lead_closed"  # type: ignore[union-attr]
    assert {"task.created", "task.dismissed"} <= set(uow.audit.actions())


def test_closing_a_task_needs_a_known_reason_to_dismiss_and_is_idempotent() -> None:
    uow = FakeUnitOfWork()
    _store_lead(uow)
    task = add_task(uow, "L-1", "callback", NOW, actor="user:a@x.example", at=NOW)
    with pytest.raises(InvalidRecordError, match="reason"):
        close_task(uow, task.id, done=False, reason="patient has asthma", actor="a", at=NOW)
    assert uow.tasks.get_task(task.id).status == "open"  # type: ignore[union-attr]
    closed = close_task(uow, task.id, done=False, reason="unreachable", actor="a", at=NOW)
    assert (closed.status, closed.close_reason) == ("dismissed", "unreachable")
    again = close_task(uow, task.id, done=True, reason=None, actor="a", at=NOW)
    assert again.status == "dismissed"
    with pytest.raises(TaskNotFoundError):
        close_task(uow, 999, done=True, reason=None, actor="a", at=NOW)
    with pytest.raises(InvalidRecordError, match="kind"):
        add_task(uow, "L-1", "sell_more", NOW, actor="a", at=NOW)


def test_the_outreach_report_judges_hand_offs_by_first_outreach_clocks_only() -> None:
    start = NOW
    recheck = ClockFact(
        "mql", start, start + timedelta(hours=1), None, start + timedelta(hours=1), None, None,
        Purpose.RECHECK.value,
    )  # fmt: skip
    assert handoff_state([recheck], start, start + timedelta(days=2)) is None
    outreach = replace(recheck, purpose="first_outreach")
    assert handoff_state([recheck, outreach], start, start + timedelta(days=2)) == "missed"


def test_a_recheck_comes_forward_with_engagement_but_not_with_an_email_open() -> None:
    gate = PLAYBOOK.sql
    parked_at = NOW
    sales = SalesState(stage=Stage.MQL, status=NO_TIMELINE, no_timeline_at=parked_at)
    due = parked_at + timedelta(days=gate.no_timeline_recheck_days)
    opened = _event(EventType.EMAIL_OPENED, parked_at + timedelta(days=2))
    assert recheck_date(sales, [opened], gate) == due
    came_back = _event(EventType.PAGE_VIEWED, parked_at + timedelta(days=4), 2)
    assert recheck_date(sales, [opened, came_back], gate) == came_back.occurred_at
    assert recheck_date(replace(sales, status="Sales accepted"), [came_back], gate) is None


def test_playbook_check_names_a_purpose_given_for_a_stage_without_an_sla() -> None:
    queue = PLAYBOOK.queue("patient_education")
    assert queue is not None
    bad = replace(queue, purposes={Stage.SQL: Purpose.APPOINTMENT})
    playbook = replace(PLAYBOOK, queues=(bad,))
    issues = [str(i) for i in check_teams(playbook)]
    assert any("stage `sql` has a purpose but no SLA" in i for i in issues), issues
    assert queue.recheck == parse_sla("1 business day")


def test_a_recheck_call_on_its_date_stops_the_clock_and_does_the_task() -> None:
    uow = FakeUnitOfWork()
    recheck = NOW + timedelta(days=30)
    parked = _decision(Stage.MQL, "patient_education", status=NO_TIMELINE, recheck_at=recheck)
    _route(uow, parked, NOW)
    early = _event(EventType.OUTREACH_LOGGED, NOW + timedelta(days=1))
    _route(uow, parked, NOW + timedelta(days=1), events=(early,), changed=False)
    assert uow.routing.clocks[-1].running  # a call before the date is not the recheck
    called = _event(EventType.OUTREACH_LOGGED, recheck + timedelta(hours=2), 2)
    _route(uow, parked, recheck + timedelta(hours=2), events=(early, called), changed=False)
    [clock] = uow.routing.clocks
    assert clock.stopped_at == called.occurred_at
    assert uow.tasks.open_tasks("L-1") == []
    [task] = uow.tasks.tasks
    assert (task.status, task.close_reason) == ("done", "done_by_event")
