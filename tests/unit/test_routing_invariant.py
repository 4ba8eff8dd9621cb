"""The routing invariant's checker names each way a lead can break it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.services.routing.invariant import RoutedLead, route_problems
from leadflow.services.routing.ports import LeadRoute, SlaClock

PLAYBOOK = load_playbook("specialty-clinic")
AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
ROUTE = LeadRoute(
    "L-1", PLAYBOOK.id, "mql", "patient_scheduling", "patient_intake", "luis", AT, False, True, AT
)
CLOCK = SlaClock(
    1, "L-1", "mql", "high", "patient_scheduling", "patient_intake", "luis", "1 business hour",
    AT, AT + timedelta(hours=1),
)  # fmt: skip
GOOD = RoutedLead("L-1", ROUTE, [CLOCK], "mql", "high", "patient_scheduling", "luis")


def test_a_lead_routed_as_the_playbook_says_has_no_problem() -> None:
    assert route_problems(PLAYBOOK, GOOD) == []
    assert route_problems(PLAYBOOK, replace(GOOD, running=[])) == []  # reached in time


def test_an_owner_outside_the_queues_team_is_named() -> None:
    lead = replace(
        GOOD,
        route=replace(ROUTE, owner="erin"),
        running=[replace(CLOCK, owner="erin")],
        decision_owner="erin",
    )
    assert route_problems(PLAYBOOK, lead) == ["owner erin is not in team patient_intake"]


def test_a_clock_left_on_the_old_queue_with_the_old_sla_is_named() -> None:
    old = replace(CLOCK, queue="patient_education", sla="1 business day")
    assert route_problems(PLAYBOOK, replace(GOOD, running=[old])) == [
        "clock on queue patient_education, route on patient_scheduling",
        "clock SLA 1 business day, the playbook gives 1 business hour for this band",
    ]


def test_two_running_clocks_and_a_stale_decision_are_named() -> None:
    lead = replace(GOOD, running=[CLOCK, replace(CLOCK, id=2)], decision_owner="priya")
    assert route_problems(PLAYBOOK, lead) == [
        "decision says patient_scheduling/priya, route patient_scheduling/luis",
        "2 running clocks",
    ]


def test_a_running_clock_without_an_open_route_is_named() -> None:
    closed = replace(GOOD, route=replace(ROUTE, open=False))
    assert route_problems(PLAYBOOK, closed) == ["1 running clock(s) without an open route"]
    assert route_problems(PLAYBOOK, replace(closed, running=[])) == []
