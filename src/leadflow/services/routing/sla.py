"""What happens to a first-outreach clock as time passes, and assignment by hand.

The worker calls :func:`check_clock` for each clock whose ``next_check_at`` has come, in a
unit of work that holds the clock's row: the reminder to the owner, then at the due time the
breach (recorded, the team lead notified, a ``lead.sla_breached`` webhook), then after the
queue's ``reassign_after`` the lead goes to another available member with a fresh clock.
Notices to people carry the lead id and times only, never the lead's details.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from leadflow.domain.playbook import Playbook, Queue, Team
from leadflow.domain.purposes import Purpose
from leadflow.errors import NotRoutedError, UnknownMemberError
from leadflow.services.routing.assign import (
    choose_owner,
    close,
    next_check,
    record_assignment,
    start_clock,
)
from leadflow.services.routing.ports import LeadRoute, Notice, SlaClock
from leadflow.services.store.ports import AuditEntry, PlaybookLookup, Runner, UnitOfWork

SLA_BREACHED = "lead.sla_breached"
WORKER = "worker:sla"
RETRY_REASSIGN = timedelta(minutes=15)


@dataclass
class SlaReport:
    """What one pass over due clocks did."""

    reminded: int = 0
    breached: int = 0
    escalated: int = 0
    reassigned: int = 0
    closed: int = 0
    assigned: int = 0

    def __add__(self, other: SlaReport) -> SlaReport:
        return SlaReport(
            self.reminded + other.reminded,
            self.breached + other.breached,
            self.escalated + other.escalated,
            self.reassigned + other.reassigned,
            self.closed + other.closed,
            self.assigned + other.assigned,
        )


def _stamp(at: datetime, team: Team | None) -> str:
    if team is None:
        return at.strftime("%Y-%m-%d %H:%M UTC")
    return team.hours.local(at).strftime("%a %Y-%m-%d %H:%M %Z")


def _notice(
    store: UnitOfWork, team: Team | None, member_id: str | None, kind: str, text: str, **at: Any
) -> bool:
    if team is None or member_id is None:
        return False
    member = team.member(member_id)
    if member is None:
        return False
    store.routing.add_notice(
        Notice(
            lead_id=at["lead_id"],
            member_id=member_id,
            to_address=member.email,
            kind=kind,
            subject=text,
            body=f"{text}\n\nOpen the lead: /leads/{at['lead_id']}\n",
            at=at["now"],
        )
    )
    return True


def breached_payload(clock: SlaClock, at: datetime) -> dict[str, Any]:
    """The ``lead.sla_breached`` webhook body: ids and times only."""
    return {
        "type": SLA_BREACHED,
        "timestamp": at.isoformat(),
        "data": {
            "lead_id": clock.lead_id,
            "stage": clock.stage,
            "queue": clock.queue,
            "team": clock.team_id,
            "owner": clock.owner,
            "sla": clock.sla,
            "started_at": clock.started_at.isoformat(),
            "due_at": clock.due_at.isoformat(),
            "escalated_to": clock.escalated_to,
        },
    }


def _audit(store: UnitOfWork, clock: SlaClock, action: str, at: datetime, **after: Any) -> None:
    store.audit.append(
        AuditEntry(
            at=at,
            actor=WORKER,
            action=action,
            entity="lead",
            entity_id=clock.lead_id,
            after={"stage": clock.stage, "queue": clock.queue, "due_at": clock.due_at.isoformat()}
            | after,
        )
    )


def check_clock(
    store: UnitOfWork, playbooks: PlaybookLookup, clock: SlaClock, now: datetime
) -> SlaReport:
    """Do what is due for ``clock`` at ``now`` (remind, breach and escalate, reassign) and
    save it with its next check; a clock whose lead left its stage closes."""
    report = SlaReport()
    route = store.routing.route_of(clock.lead_id)
    if route is None or not route.open or route.stage != clock.stage:
        store.routing.save_clock(close(clock, now, "stage_changed"))
        report.closed += 1
        return report
    if route.queue != clock.queue:  # requeued: the route's own clock replaces this one
        store.routing.save_clock(close(clock, now, "requeued"))
        report.closed += 1
        return report
    playbook = playbooks(route.playbook_id)
    team = playbook.team(route.team_id)  # the team that owns the queue the lead is in
    if _remind_due(clock, now):
        clock = _remind(store, clock, team, now)
        report.reminded += 1
    if clock.breached_at is None and clock.due_at <= now:
        clock, escalated = _breach(store, clock, team, now)
        report.breached += 1
        report.escalated += escalated
    queue = playbook.queue(route.queue)
    if _reassign_due(clock, now) and team is not None and queue is not None:
        picked = choose_owner(store.routing, team, now, exclude=route.owner)
        if picked is None:  # nobody free now: try again shortly
            clock = replace(clock, reassign_at=now + RETRY_REASSIGN)
        else:
            _reassign(store, playbook, queue, team, route, clock, picked, now)
            report.reassigned += 1
            return report
    store.routing.save_clock(replace(clock, next_check_at=next_check(clock)))
    return report


def _remind(store: UnitOfWork, clock: SlaClock, team: Team | None, now: datetime) -> SlaClock:
    due = _stamp(clock.due_at, team)
    text = f"Reminder: first outreach to lead {clock.lead_id} is due by {due}"
    _notice(store, team, clock.owner, "sla_reminder", text, lead_id=clock.lead_id, now=now)
    clock = replace(clock, reminded_at=now)
    _audit(store, clock, "sla.reminded", now, owner=clock.owner)
    return clock


def _breach(
    store: UnitOfWork, clock: SlaClock, team: Team | None, now: datetime
) -> tuple[SlaClock, int]:
    """The deadline passed without outreach: tell the owner and the team lead (escalation),
    audit it and queue ``lead.sla_breached``; returns the clock and 1 if escalated."""
    escalate = team.lead if team is not None else None
    clock = replace(clock, breached_at=now, escalated_to=escalate)
    text = f"SLA missed: first outreach to lead {clock.lead_id} was due by "
    text += _stamp(clock.due_at, team)
    lead = {"lead_id": clock.lead_id, "now": now}
    _notice(store, team, clock.owner, "sla_breach", text, **lead)
    escalated = _notice(
        store, team, escalate, "sla_escalation", f"Escalated to you — {text}", **lead
    )
    _audit(store, clock, "sla.breached", now, owner=clock.owner, escalated_to=escalate)
    store.outbox.enqueue(SLA_BREACHED, breached_payload(clock, now), now)
    return clock, int(escalated)


def _remind_due(clock: SlaClock, now: datetime) -> bool:
    return (
        clock.remind_at is not None
        and clock.reminded_at is None
        and clock.remind_at <= now < clock.due_at
    )


def _reassign_due(clock: SlaClock, now: datetime) -> bool:
    return (
        clock.breached_at is not None
        and clock.reassign_at is not None
        and clock.reassigned_at is None
        and clock.reassign_at <= now
    )


def _reassign(  # noqa: PLR0917 (the reassignment's whole context)
    store: UnitOfWork,
    playbook: Playbook,
    queue: Queue,
    team: Team,
    route: LeadRoute,
    clock: SlaClock,
    picked: str,
    now: datetime,
) -> None:
    """The breached lead goes to ``picked`` with a fresh clock; the old one closes."""
    moved = _give(store, route, picked, reason="sla_reassigned", actor=WORKER, at=now, manual=False)
    store.routing.save_clock(replace(close(clock, now, "reassigned"), reassigned_at=now))
    fresh = start_clock(
        store.routing,
        playbook,
        queue,
        moved,
        band=clock.band,
        at=now,
        purpose=Purpose(clock.purpose),
    )
    store.routing.set_decision_route(clock.lead_id, picked, fresh.due_at if fresh else None)
    text = f"Lead {clock.lead_id} was reassigned to you after a missed SLA"
    _notice(store, team, picked, "assigned", text, lead_id=clock.lead_id, now=now)


def assign_waiting(store: UnitOfWork, playbook: Playbook, route: LeadRoute, now: datetime) -> bool:
    """Give an open, unassigned route an owner now that someone may be free."""
    team = playbook.team(route.team_id)
    if team is None:
        return False
    picked = choose_owner(store.routing, team, now)
    if picked is None:
        return False
    hand_over(store, route, picked, reason="routed", actor=WORKER, at=now, manual=False)
    return True


def _give(
    store: UnitOfWork,
    route: LeadRoute,
    member_id: str,
    *,
    reason: str,
    actor: str,
    at: datetime,
    manual: bool,
) -> LeadRoute:
    """The route with its new owner, saved, and the change recorded (history, audit,
    webhook)."""
    moved = replace(route, owner=member_id, assigned_at=at, manual=manual, updated_at=at)
    store.routing.save_route(moved)
    record_assignment(store, moved, route.owner, reason=reason, actor=actor, at=at)
    return moved


def hand_over(
    store: UnitOfWork,
    route: LeadRoute,
    member_id: str,
    *,
    reason: str,
    actor: str,
    at: datetime,
    manual: bool,
) -> LeadRoute:
    """Give an open route's lead to ``member_id`` with its running clock, record the change
    and update the stored decision's owner."""
    moved = _give(store, route, member_id, reason=reason, actor=actor, at=at, manual=manual)
    clock = store.routing.running_clock(route.lead_id)
    if clock is not None:
        store.routing.save_clock(replace(clock, owner=member_id))
    store.routing.set_decision_route(route.lead_id, member_id, clock.due_at if clock else None)
    return moved


def assign_by_hand(
    store: UnitOfWork,
    playbook: Playbook,
    lead_id: str,
    member_id: str,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
) -> LeadRoute:
    """Give the lead to ``member_id`` (a member of its queue's team); audited, and the owner
    sticks until the lead leaves the team's queues or is reassigned after a breach."""
    route = store.routing.route_of(lead_id)
    if route is None or not route.open:
        raise NotRoutedError(f"lead `{lead_id}` is not in a routed stage, so it has no owner")
    team = playbook.team(route.team_id)
    if team is None:
        raise NotRoutedError(f"queue `{route.queue}` has no team to assign its leads from")
    if team.member(member_id) is None:
        members = ", ".join(m.id for m in team.members)
        raise UnknownMemberError(
            "owner", f"`{member_id}` is not a member of team `{team.id}`; members: {members}"
        )
    if route.owner == member_id:
        return route
    why = "manual" + (f": {reason}" if reason else "")
    return hand_over(store, route, member_id, reason=why, actor=actor, at=at, manual=True)


def run_due(run: Runner, playbooks: PlaybookLookup, now: datetime, limit: int) -> SlaReport:
    """Every clock due at ``now``, then every route waiting for an owner, ``limit`` per unit
    of work (the reads lock what they return; PostgreSQL workers skip each other's rows)."""
    total = SlaReport()

    def clocks(store: UnitOfWork) -> tuple[int, SlaReport]:
        found = store.routing.due_clocks(now, limit)
        report = SlaReport()
        for clock in found:
            report += check_clock(store, playbooks, clock, now)
        return len(found), report

    def routes(store: UnitOfWork) -> tuple[int, int]:
        found = store.routing.unassigned_routes(limit)
        done = [assign_waiting(store, playbooks(r.playbook_id), r, now) for r in found]
        return len(found), sum(done)

    while True:
        count, report = run(clocks)
        total += report
        if count < limit:
            break
    while True:
        count, assigned = run(routes)
        total.assigned += assigned
        if count < limit or not assigned:
            return total
