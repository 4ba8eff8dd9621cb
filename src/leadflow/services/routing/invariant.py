"""The routing invariant: what must hold for every lead, whatever happened to it.

For a lead whose route is open (it is in a routed stage):

- the route's team is the team of its queue, and its owner (when it has one) is a member
  of that team;
- it has at most one running SLA clock, and a running clock is on the route's queue, team,
  stage and owner, for what the lead needs next (its purpose: the queue's for the stage, or
  a recheck for an "MQL – no timeline"), with that purpose's SLA for the stage and band;
- its stored decision names the same queue and owner.

A lead without an open route has no running clock. A clock stopped by outreach is not
running: a lead reached in time has no running clock until its next stage starts one.

:func:`route_problems` checks one lead; tests check it after every step of a state machine
and on a whole demo store, and ``leadflow routing check`` prints what breaks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadflow.domain.lifecycle import NO_TIMELINE
from leadflow.domain.playbook import Playbook, Queue
from leadflow.domain.purposes import Purpose
from leadflow.domain.stages import Stage
from leadflow.services.routing.ports import LeadRoute, SlaClock


@dataclass(frozen=True)
class RoutedLead:
    """One lead's routing state as stored: its route, running clocks and current decision."""

    lead_id: str
    route: LeadRoute | None
    running: Sequence[SlaClock]
    stage: str | None
    band: str | None
    decision_queue: str | None
    decision_owner: str | None
    status: str | None = None


def route_problems(playbook: Playbook, lead: RoutedLead) -> list[str]:
    """What breaks the invariant for ``lead`` (empty: it holds)."""
    route = lead.route
    if route is None or not route.open:
        return (
            [f"{len(lead.running)} running clock(s) without an open route"] if lead.running else []
        )
    problems = _route_problems(playbook, route, lead)
    if len(lead.running) > 1:
        problems.append(f"{len(lead.running)} running clocks")
    queue = playbook.queue(route.queue)
    for clock in lead.running:
        problems += _clock_problems(route, clock)
        if queue is not None:
            problems += _purpose_problems(queue, clock, lead)
    return problems


def _purpose_problems(queue: Queue, clock: SlaClock, lead: RoutedLead) -> list[str]:
    """The clock is for what the lead needs (its recheck while it waits for one, else what
    the queue gives its stage), with that purpose's SLA."""
    stage = Stage(clock.stage)
    purpose = Purpose.RECHECK if lead.status == NO_TIMELINE else queue.purpose_for(stage)
    problems = []
    if clock.purpose != purpose.value:
        problems.append(f"clock for {clock.purpose}, the lead needs {purpose.value}")
    sla = queue.clock_sla(purpose, stage, lead.band)
    if sla is None or str(sla) != clock.sla:
        problems.append(f"clock SLA {clock.sla}, the playbook gives {sla} for this band")
    return problems


def _route_problems(playbook: Playbook, route: LeadRoute, lead: RoutedLead) -> list[str]:
    problems = []
    queue = playbook.queue(route.queue)
    if queue is None:
        return [f"open route in unknown queue {route.queue}"]
    if route.team_id != queue.team:
        problems.append(f"route team {route.team_id}, queue {queue.id} belongs to {queue.team}")
    team = playbook.team(queue.team)
    if route.owner is not None and (team is None or team.member(route.owner) is None):
        problems.append(f"owner {route.owner} is not in team {queue.team}")
    if lead.stage != route.stage:
        problems.append(f"route stage {route.stage}, decision stage {lead.stage}")
    if lead.decision_queue != route.queue or lead.decision_owner != route.owner:
        problems.append(
            f"decision says {lead.decision_queue}/{lead.decision_owner}, "
            f"route {route.queue}/{route.owner}"
        )
    return problems


def _clock_problems(route: LeadRoute, clock: SlaClock) -> list[str]:
    problems = []
    if clock.queue != route.queue:
        problems.append(f"clock on queue {clock.queue}, route on {route.queue}")
    if clock.team_id != route.team_id:
        problems.append(f"clock team {clock.team_id}, route team {route.team_id}")
    if clock.stage != route.stage:
        problems.append(f"clock for stage {clock.stage}, route stage {route.stage}")
    if clock.owner != route.owner:
        problems.append(f"clock owner {clock.owner}, route owner {route.owner}")
    return problems
