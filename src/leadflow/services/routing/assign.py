"""Routing a decided lead: its queue's team, an owner, and the first-outreach SLA clock.

Called in the unit of work that stores the decision, so the route, the assignment history,
the clock, the audit records and the outbound webhooks commit with it or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.domain.calendar import BusinessHours, Sla
from leadflow.domain.decision import Decision, Route
from leadflow.domain.events import Event
from leadflow.domain.playbook import Assignment, Member, Playbook, Queue, Team
from leadflow.domain.purposes import PURPOSES, Purpose
from leadflow.domain.stages import Stage
from leadflow.services.routing.ports import AssignmentChange, LeadRoute, RoutingStore, SlaClock
from leadflow.services.routing.tasks import sync_rule_tasks
from leadflow.services.store.ports import AuditEntry, UnitOfWork

ASSIGNED = "lead.assigned"
# Stages a sales action moves a lead into: whoever acts there may take the lead.
SALES_STAGES = frozenset({Stage.SALES_ACCEPTED, Stage.SQL, Stage.OPPORTUNITY})
ALWAYS_OPEN = BusinessHours.always_open()


@dataclass(frozen=True)
class ImportedClocks:
    """How clocks start for leads brought in with their history (``leadflow import``).

    A clock starts when the lead's own history says it became due — its latest event — not
    at import time. A lead whose latest event is older than ``max_age``, or whose deadline
    from that event has already passed, gets no clock: it was past its SLA before it was
    imported, and nobody could have reached it in time, so it is neither breached nor
    reassigned (its route and owner are kept as usual).
    """

    max_age: timedelta

    def start(self, events: Sequence[Event], at: datetime) -> datetime | None:
        """When the clock starts (``None``: no clock, the history is too old)."""
        latest = max((e.occurred_at for e in events if e.occurred_at <= at), default=at)
        return latest if at - latest <= self.max_age else None


def hours_of(team: Team | None) -> BusinessHours:
    """The team's business hours; a queue without a team counts around the clock."""
    return team.hours if team is not None else ALWAYS_OPEN


def due_at(sla: Sla, start: datetime, team: Team | None) -> datetime:
    """``sla``'s deadline from ``start``: in the team's business hours, or on the wall clock
    when the queue has no team."""
    if team is None:
        return replace(sla, business=False).due(start, ALWAYS_OPEN)
    return sla.due(start, team.hours)


def on_duty(team: Team, at: datetime, absent: set[str], exclude: str | None = None) -> list[Member]:
    """Members who work on the team's next business day from ``at`` and are not away."""
    day = team.hours.local(team.hours.next_open(at)).weekday()
    return [m for m in team.members if m.works_on(day) and m.id not in absent and m.id != exclude]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def member_rank(
    strategy: Assignment,
    load: int,
    last_assigned_at: datetime | None,
    assigned_total: int,
    position: int,
) -> tuple[Any, ...]:
    """How a member under their cap ranks for the next lead (lowest first): load balancing
    takes the fewest open leads; round robin the member whose last lead is oldest. Ties go
    to fewer leads in total, then to the order the playbook lists the members in."""
    last = last_assigned_at or _EPOCH
    if strategy is Assignment.LOAD_BALANCED:
        return (load, last, assigned_total, position)
    return (last, assigned_total, position)


def choose_owner(
    routing: RoutingStore, team: Team, at: datetime, exclude: str | None = None
) -> str | None:
    """Claim an available member of ``team`` by its strategy (``None``: nobody free)."""
    start = team.hours.next_open(at)
    absent = routing.absent_members([m.id for m in team.members], start)
    candidates = on_duty(team, at, absent, exclude)
    return routing.pick_member(
        team.id, [(m.id, m.capacity) for m in candidates], team.assignment, at
    )


def assigned_payload(
    lead_id: str, route: LeadRoute, before: str | None, reason: str, at: datetime
) -> dict[str, Any]:
    """The ``lead.assigned`` webhook body: ids only (COMPLIANCE.md allow-list). The reason
    is its kind (``manual``), never the text a person typed after it, which may name a
    patient's condition."""
    return {
        "type": ASSIGNED,
        "timestamp": at.isoformat(),
        "data": {
            "lead_id": lead_id,
            "queue": route.queue,
            "team": route.team_id,
            "from_owner": before,
            "owner": route.owner,
            "reason": reason.split(":", 1)[0].strip(),
        },
    }


def record_assignment(
    store: UnitOfWork,
    route: LeadRoute,
    before: str | None,
    *,
    reason: str,
    actor: str,
    at: datetime,
) -> None:
    """History row, audit record and ``lead.assigned`` webhook for an owner change."""
    store.routing.add_assignment(
        AssignmentChange(
            route.lead_id, at, route.queue, route.team_id, before, route.owner, reason, actor
        )
    )
    store.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action="lead.assigned",
            entity="lead",
            entity_id=route.lead_id,
            before={"owner": before},
            after={"owner": route.owner, "queue": route.queue, "team": route.team_id},
            reason=reason,
        )
    )
    store.outbox.enqueue(ASSIGNED, assigned_payload(route.lead_id, route, before, reason, at), at)


def reminder_at(queue: Queue, at: datetime, due: datetime, team: Team | None) -> datetime | None:
    """When ``queue.remind_before`` is left before ``due`` (business time for a business
    setting, wall-clock time otherwise); ``None`` when the clock is shorter than that."""
    before = queue.remind_before
    if before is None:
        return None
    if team is None or not before.business:
        remind = due - (due_at(before, at, None) - at)
        return remind if remind > at else None
    hours = team.hours
    opened = hours.next_open(at)
    span = hours.business_time_between(opened, before.due(opened, hours))
    left = hours.business_time_between(at, due)
    return hours.add_business_time(at, left - span) if span < left else None


def start_clock(
    routing: RoutingStore,
    playbook: Playbook,
    queue: Queue,
    route: LeadRoute,
    *,
    band: str | None,
    at: datetime,
    now: datetime | None = None,
    purpose: Purpose | None = None,
) -> SlaClock | None:
    """A new clock for ``purpose`` (by default, the one ``queue`` gives the lead's stage),
    started at ``at`` (``None`` when the stage has no SLA, or when a clock started in the
    past is already due by ``now``). A recheck's clock may start in the future."""
    stage = Stage(route.stage)
    purpose = purpose or queue.purpose_for(stage)
    sla = queue.clock_sla(purpose, stage, band)
    if sla is None:
        return None
    team = playbook.team(queue.team)
    due = due_at(sla, at, team)
    if now is not None and due <= now:
        return None
    clock = SlaClock(
        id=0,
        lead_id=route.lead_id,
        stage=route.stage,
        band=band,
        queue=queue.id,
        team_id=route.team_id,
        owner=route.owner,
        sla=str(sla),
        started_at=at,
        due_at=due,
        remind_at=reminder_at(queue, at, due, team),
        reassign_at=None
        if queue.reassign_after is None
        else due_at(queue.reassign_after, due, team),
        purpose=purpose.value,
    )
    return routing.save_clock(replace(clock, next_check_at=next_check(clock)))


def next_check(clock: SlaClock) -> datetime | None:
    """The next instant the worker has something to do for ``clock``."""
    if not clock.running:
        return None
    pending = []
    if clock.remind_at is not None and clock.reminded_at is None and clock.breached_at is None:
        pending.append(clock.remind_at)
    if clock.breached_at is None:
        pending.append(clock.due_at)
    elif clock.reassign_at is not None and clock.reassigned_at is None:
        pending.append(clock.reassign_at)
    return min(pending) if pending else None


def _done(clock: SlaClock, events: Sequence[Event], until: datetime) -> Event | None:
    """The first event since ``clock`` started that does what it is for."""
    done_by = PURPOSES[Purpose(clock.purpose)].done_by
    return next(
        (
            e
            for e in sorted(events, key=Event.sort_key)
            if e.type in done_by and clock.started_at <= e.occurred_at <= until
        ),
        None,
    )


def route_decision(
    store: UnitOfWork,
    playbook: Playbook,
    decision: Decision,
    *,
    changed: bool,
    events: Sequence[Event],
    at: datetime,
    actor: str,
    routed_before: bool = True,
    imported: ImportedClocks | None = None,
) -> Decision:
    """Route ``decision``'s lead at ``at``; returns the decision with owner and SLA due time.

    A lead in a routed stage keeps its owner while its queue's team stays the same (a manual
    assignment too); otherwise the team's strategy picks one. Each entry into a stage with an
    SLA starts a clock; ``outreach_logged`` at or after its start stops it. A requeue, or a
    band change that changes the SLA, closes the running clock (``requeued``) and starts one
    on the new queue with its SLA from the requeue: the owner who receives the lead gets the
    whole SLA. Leaving the routed
    stages closes the route and its clock. ``routed_before=False`` says the lead's stored
    decision had no queue: then a decision without one has nothing to do here.
    ``imported`` starts a new clock from the lead's history (:class:`ImportedClocks`).
    """
    lead_id = decision.lead_id
    if not routed_before and decision.route.queue is None:
        return decision  # not routed before, not routed now: no route, no running clock
    route = store.routing.route_of(lead_id)
    running = store.routing.running_clock(lead_id)
    clock = _stop_when_done(store, running, events, at)
    stopped = running if clock is None else None
    queue = playbook.queue(decision.route.queue)
    if queue is None:
        _leave_routing(store, route, clock, decision, at)
        if running is not None or changed:
            sync_rule_tasks(store, decision, running=None, stopped=stopped, at=at)
        return decision
    was_open = route is not None and route.open
    new = _assign(store, playbook, queue, route, decision, changed=changed, actor=actor, at=at)
    requeued = was_open and route is not None and route.queue != queue.id
    purpose = wanted_purpose(queue, decision)
    restart = changed or not was_open or requeued
    if restart or _clock_changed(clock, queue, decision, purpose):
        if clock is not None:
            why = "stage_changed" if changed or not was_open else "requeued"
            store.routing.save_clock(close(clock, at, why))
        begin = _clock_start(decision, events, at, imported)
        clock = (
            None
            if begin is None
            else start_clock(
                store.routing,
                playbook,
                queue,
                new,
                band=decision.band,
                at=begin,
                now=at,
                purpose=purpose,
            )
        )
        restart = True
    elif clock is not None and clock.owner != new.owner:
        clock = store.routing.save_clock(replace(clock, owner=new.owner))
    if restart or stopped is not None:
        sync_rule_tasks(store, decision, running=clock, stopped=stopped, at=at)
    return replace(decision, route=Route(queue.id, new.owner, clock.due_at if clock else None))


def _assign(
    store: UnitOfWork,
    playbook: Playbook,
    queue: Queue,
    route: LeadRoute | None,
    decision: Decision,
    *,
    changed: bool,
    actor: str,
    at: datetime,
) -> LeadRoute:
    """The lead's route in ``queue`` with its owner, saved, and an owner change recorded:
    the same owner within the same team, the member who acted (:func:`_taker`), else the
    team's strategy."""
    was_open = route is not None and route.open
    before = route.owner if route is not None and route.open else None
    new, keep = _next_route(store, playbook, queue, route=route, decision=decision, at=at)
    taker = _taker(playbook, queue, decision, changed=changed, actor=actor)
    taken = taker is not None and taker != new.owner
    if taken:
        new, keep = replace(new, owner=taker, assigned_at=at, manual=False), False
    if route is None or replace(route, updated_at=at) != new:
        store.routing.save_route(new)
    if not keep and new.owner is not None:
        why = "taken" if taken else "routed" if not was_open else "requeued"
        record_assignment(store, new, before, reason=why, actor=actor, at=at)
    return new


def _taker(
    playbook: Playbook, queue: Queue, decision: Decision, *, changed: bool, actor: str
) -> str | None:
    """The member who moved the lead into a sales stage by their own action (accepted it,
    completed discovery) when they belong to the team that owns its queue: they keep it,
    rather than the team's strategy handing it to someone who has never spoken to the lead.
    When the playbook moves the stage to another team's queue, that team's strategy picks."""
    if not changed or decision.stage not in SALES_STAGES:
        return None
    team = playbook.team(queue.team)
    member = team.member_acting(actor) if team is not None else None
    return member.id if member is not None else None


def wanted_purpose(queue: Queue, decision: Decision) -> Purpose:
    """What the lead's clock is for now: its recheck while it waits for one ("MQL – no
    timeline"), else what ``queue`` gives its stage."""
    return Purpose.RECHECK if decision.recheck_at is not None else queue.purpose_for(decision.stage)


def _clock_start(
    decision: Decision, events: Sequence[Event], at: datetime, imported: ImportedClocks | None
) -> datetime | None:
    """When the new clock starts: at the recheck date for a recheck, from the lead's history
    for an import (``None``: no clock), else now."""
    if decision.recheck_at is not None:
        return decision.recheck_at
    return at if imported is None else imported.start(events, at)


def _clock_changed(
    clock: SlaClock | None, queue: Queue, decision: Decision, purpose: Purpose
) -> bool:
    """The running clock is not the one the lead needs now — another purpose, another SLA
    (its band rose or fell), or a recheck brought forward: it restarts with the right one.
    (A recheck's SLA is the queue's own, whatever the band.)"""
    if clock is None:
        return False
    if clock.purpose != purpose.value:
        return True
    if purpose is Purpose.RECHECK and decision.recheck_at is not None:
        # brought forward by engagement; a clock restarted after a breach starts later
        return clock.started_at > decision.recheck_at
    sla = queue.clock_sla(purpose, decision.stage, decision.band)
    return sla is None or str(sla) != clock.sla


def _leave_routing(
    store: UnitOfWork,
    route: LeadRoute | None,
    clock: SlaClock | None,
    decision: Decision,
    at: datetime,
) -> None:
    """The lead left the routed stages: its route closes, its clock with it."""
    if route is not None and route.open:
        store.routing.save_route(
            replace(route, open=False, stage=decision.stage.value, updated_at=at)
        )
    if clock is not None:
        store.routing.save_clock(close(clock, at, "stage_changed"))


def _next_route(
    store: UnitOfWork,
    playbook: Playbook,
    queue: Queue,
    *,
    route: LeadRoute | None,
    decision: Decision,
    at: datetime,
) -> tuple[LeadRoute, bool]:
    """The lead's route in ``queue``, and whether it keeps its owner (same team, an owner
    already); otherwise the team's strategy picks one."""
    open_before = route if route is not None and route.open else None
    keep = (
        open_before is not None
        and open_before.team_id == queue.team
        and open_before.owner is not None
    )
    new = LeadRoute(
        lead_id=decision.lead_id,
        playbook_id=playbook.id,
        stage=decision.stage.value,
        queue=queue.id,
        team_id=queue.team,
        owner=open_before.owner if keep and open_before else None,
        assigned_at=open_before.assigned_at if keep and open_before else None,
        manual=bool(keep and open_before and open_before.manual),
        open=True,
        updated_at=at,
    )
    team = playbook.team(queue.team)
    if not keep and team is not None:
        picked = choose_owner(store.routing, team, at)
        if picked is not None:
            new = replace(new, owner=picked, assigned_at=at)
    return new, keep


def _stop_when_done(
    store: UnitOfWork, clock: SlaClock | None, events: Sequence[Event], at: datetime
) -> SlaClock | None:
    """The running clock, or ``None`` once an event since its start did what it is for (a
    first outreach logged, a discovery completed, an appointment scheduled …)."""
    if clock is None:
        return None
    done = _done(clock, events, at)
    if done is None:
        return clock
    stopped = replace(
        clock, stopped_at=done.occurred_at, stop_event_id=done.event_id, next_check_at=None
    )
    store.routing.save_clock(stopped)
    return None


def close(clock: SlaClock, at: datetime, why: str) -> SlaClock:
    """``clock`` closed at ``at`` without outreach (a stage change, a reassignment)."""
    return replace(clock, closed_at=at, closed_reason=why, next_check_at=None)
