"""What routing needs from the store: routes, assignments, member picks, SLA clocks, notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadflow.domain.decision import Route
from leadflow.domain.playbook import Assignment


@dataclass(frozen=True)
class LeadRoute:
    """Where a lead is: its queue, team and owner; ``open`` while a routed stage holds it."""

    lead_id: str
    playbook_id: str
    stage: str
    queue: str | None
    team_id: str | None
    owner: str | None
    assigned_at: datetime | None
    manual: bool
    open: bool
    updated_at: datetime


@dataclass(frozen=True)
class AssignmentChange:
    """One change of owner (append-only history)."""

    lead_id: str
    at: datetime
    queue: str | None
    team_id: str | None
    from_owner: str | None
    to_owner: str | None
    reason: str  # routed | requeued | taken | manual | sla_reassigned | unavailable
    actor: str


@dataclass(frozen=True)
class SlaClock:
    """One first-outreach deadline (a row of ``sla_clocks``); ``id`` is 0 before it is stored."""

    id: int
    lead_id: str
    stage: str
    band: str | None
    queue: str
    team_id: str | None
    owner: str | None
    sla: str
    started_at: datetime
    due_at: datetime
    remind_at: datetime | None = None
    reassign_at: datetime | None = None
    reminded_at: datetime | None = None
    breached_at: datetime | None = None
    escalated_to: str | None = None
    reassigned_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_event_id: str | None = None
    closed_at: datetime | None = None
    closed_reason: str | None = None
    next_check_at: datetime | None = None
    purpose: str = "first_outreach"  # what is due (``leadflow.domain.purposes``)

    @property
    def running(self) -> bool:
        """Neither stopped by outreach nor closed by a stage change or reassignment."""
        return self.stopped_at is None and self.closed_at is None


@dataclass(frozen=True)
class Notice:
    """A message to a team member (a reminder or an escalation), sent by the worker."""

    lead_id: str
    member_id: str
    to_address: str | None
    kind: str  # sla_reminder | sla_breach | sla_escalation | assigned
    subject: str
    body: str
    at: datetime


class RoutingStore(Protocol):
    """The routing part of a unit of work."""

    def route_of(self, lead_id: str) -> LeadRoute | None: ...

    def routes_many(self, lead_ids: Sequence[str]) -> dict[str, Route]:
        """The open routes of those leads that have one: queue, owner, running SLA due."""
        ...

    def save_route(self, route: LeadRoute) -> None: ...

    def add_assignment(self, change: AssignmentChange) -> None: ...

    def pick_member(
        self,
        team_id: str,
        candidates: Sequence[tuple[str, int | None]],
        strategy: Assignment,
        at: datetime,
    ) -> str | None:
        """Claim one of ``candidates`` (member id, capacity) by ``strategy`` and record the
        assignment on its row; ``None`` when every one is at capacity or being claimed by a
        concurrent transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)."""
        ...

    def absent_members(self, member_ids: Sequence[str], at: datetime) -> set[str]:
        """Those of ``member_ids`` out of office at ``at``."""
        ...

    def running_clock(self, lead_id: str) -> SlaClock | None:
        """The lead's clock still running (not stopped, not closed), if any."""
        ...

    def save_clock(self, clock: SlaClock) -> SlaClock:
        """Insert (``id == 0``) or update the clock; returns it with its id."""
        ...

    def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        """Up to ``limit`` clocks whose ``next_check_at`` has come, locked for this unit."""
        ...

    def unassigned_routes(self, limit: int) -> list[LeadRoute]:
        """Up to ``limit`` open routes in a team's queue without an owner, locked."""
        ...

    def add_notice(self, notice: Notice) -> None: ...

    def set_decision_route(self, lead_id: str, owner: str | None, due: datetime | None) -> None:
        """Update the owner and SLA due time of the lead's stored decision (record included)."""
        ...

    def add_absence(
        self,
        member_id: str,
        *,
        starts_at: datetime,
        ends_at: datetime,
        note: str | None,
        by: str,
        at: datetime,
    ) -> int:
        """Record that ``member_id`` is out of office in ``[starts_at, ends_at)``."""
        ...


@dataclass(frozen=True)
class Task:
    """A piece of work on a lead for whoever owns it now (a row of ``tasks``); ``id`` is 0
    before it is stored. ``rule_key`` names the playbook rule that made it (a lead has at most
    one open task per rule), ``None`` for a rep's own task."""

    id: int
    lead_id: str
    kind: str
    due_at: datetime
    created_at: datetime
    created_by: str
    rule_key: str | None = None
    status: str = "open"  # open | done | dismissed
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None


class TaskStore(Protocol):
    """The tasks part of a unit of work."""

    def add_task(self, task: Task) -> Task:
        """Store a new task; returns it with its id."""
        ...

    def get_task(self, task_id: int) -> Task | None:
        """The task, locked for this unit of work."""
        ...

    def open_tasks(self, lead_id: str) -> list[Task]:
        """The lead's open tasks, soonest due first."""
        ...

    def close_task(self, task: Task, *, status: str, at: datetime, by: str, reason: str) -> Task:
        """Mark ``task`` done or dismissed."""
        ...
