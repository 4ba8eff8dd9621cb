"""In-memory repositories for the unit of work's ports: services tested in milliseconds.

Each fake keeps the port's contract as the SQL repository does (merges followed, a clock's
id given when first saved, a message settled only while still queued), in plain lists and
dicts a test can read. :class:`FakeDatabase` runs a unit of work like ``Database.run``: on
success its changes stay, on an error the state from before the unit comes back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from leadflow.domain.decision import Decision, Route
from leadflow.domain.playbook import Assignment
from leadflow.services.routing.assign import member_rank
from leadflow.services.routing.ports import AssignmentChange, LeadRoute, Notice, SlaClock
from leadflow.services.store.ports import (
    ConsentRecord,
    CurrentDecision,
    IdentityKey,
    LeadLink,
    MergeRecord,
    Runner,
    StageChange,
    StoredEvent,
    StoredLead,
    UnitOfWork,
)
from tests.fakes.links import FakeLinkBook
from tests.fakes.nurture import FakeNurture, StoredMessage
from tests.fakes.queue import FakeDecisionQueue
from tests.fakes.records import FakeAudit, FakeOutbox
from tests.fakes.tasks import FakeTasks

T = TypeVar("T")
_FINAL = {"won", "lost", "disqualified"}


@dataclass
class FakeLeads:
    """The ``Leads`` port in memory."""

    leads: dict[str, StoredLead] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)
    identities: dict[tuple[str, str, str], str] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)
    decisions: dict[str, CurrentDecision] = field(default_factory=dict)
    next_changes: dict[str, datetime | None] = field(default_factory=dict)
    history: list[StageChange] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    book: FakeLinkBook = field(default_factory=FakeLinkBook)

    def survivor_of(self, lead_id: str) -> str:
        return self._survivor(lead_id)

    def _survivor(self, lead_id: str) -> str:
        while lead_id in self.merged_into:
            lead_id = self.merged_into[lead_id]
        return lead_id

    def get_lead(self, lead_id: str) -> StoredLead | None:
        return self.leads.get(self._survivor(lead_id))

    def lock_lead(self, lead_id: str) -> None:
        self.locked.append(lead_id)

    def leads_by_identity(self, keys: Sequence[IdentityKey]) -> list[str]:
        found = {
            self._survivor(owner)
            for k in keys
            if (owner := self.identities.get((k.kind, k.source, k.value))) is not None
        }
        return sorted(found, key=lambda i: (self.leads[i].created_at, i))

    def add_lead(self, lead: StoredLead, merged_into: str | None = None) -> None:
        self.leads[lead.lead_id] = lead
        if merged_into is not None:
            self.merged_into[lead.lead_id] = merged_into
            self.book.record_alias(merged_into, lead.lead_id)

    def add_identities(self, lead_id: str, keys: Sequence[IdentityKey], at: datetime) -> None:
        for k in keys:
            self.identities.setdefault((k.kind, k.source, k.value), lead_id)

    def merge(
        self, survivor: str, absorbed: str, at: datetime, fill_event: str | None = None
    ) -> None:
        self.book.merge(self, survivor, absorbed, fill_event)

    def unmerge(self, absorbed: str, at: datetime) -> MergeRecord | None:
        return self.book.unmerge(self, absorbed)

    def add_link(self, lead_id: str, related_id: str, relation: str, at: datetime) -> None:
        self.book.add_link(lead_id, related_id, relation)

    def links_of(self, lead_id: str) -> list[LeadLink]:
        return self.book.links_of(self, lead_id)

    def event_hashes(self, event_ids: Collection[str]) -> dict[str, str]:
        wanted = set(event_ids)
        return {e.event.event_id: e.content_hash for e in self.events if e.event.event_id in wanted}

    def add_events(self, events: Sequence[StoredEvent]) -> None:
        self.events.extend(events)

    def events_of(self, lead_id: str) -> list[Any]:
        return [e.event for e in self.events if e.event.lead_id == lead_id]

    def current_decision(self, lead_id: str) -> CurrentDecision | None:
        return self.decisions.get(lead_id)

    def save_decision(
        self, decision: Decision, decided_at: datetime, next_change_at: datetime | None = None
    ) -> None:
        self.decisions[decision.lead_id] = CurrentDecision(
            decision.stage.value, decision.to_record(), decided_at
        )
        self.next_changes[decision.lead_id] = next_change_at

    def due_for_change(self, now: datetime, limit: int) -> list[str]:
        due = sorted((at, i) for i, at in self.next_changes.items() if at is not None and at <= now)
        return [i for _, i in due[:limit]]

    def add_stage_change(self, change: StageChange) -> None:
        self.history.append(change)

    def add_consent(self, consent: ConsentRecord) -> None:
        self.consents.append(consent)

    def consents_of(self, lead_id: str) -> list[ConsentRecord]:
        return [c for c in self.consents if c.lead_id == lead_id]

    def open_lead_ids(self, after: str, limit: int) -> list[str]:
        open_ids = (
            i
            for i, d in sorted(self.decisions.items())
            if i > after and d.stage not in _FINAL and i not in self.merged_into
        )
        return list(open_ids)[:limit]

    def leads_many(self, lead_ids: Sequence[str]) -> list[StoredLead]:
        return [self.leads[i] for i in lead_ids if i in self.leads]

    def events_of_many(self, lead_ids: Sequence[str]) -> dict[str, list[Any]]:
        return {i: self.events_of(i) for i in lead_ids}

    def stages_many(self, lead_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.decisions[i].stage for i in lead_ids if i in self.decisions}

    def save_decisions(
        self,
        decisions: Sequence[Decision],
        decided_at: datetime,
        next_changes: Mapping[str, datetime | None] | None = None,
    ) -> None:
        for decision in decisions:
            if decision.lead_id in self.decisions:
                after = (next_changes or {}).get(decision.lead_id)
                self.save_decision(decision, decided_at, after)


@dataclass
class FakeRouting:
    """The ``RoutingStore`` port in memory (decisions shared with :class:`FakeLeads`)."""

    decisions: dict[str, CurrentDecision]
    routes: dict[str, LeadRoute] = field(default_factory=dict)
    assignments: list[AssignmentChange] = field(default_factory=list)
    members: dict[tuple[str, str], tuple[datetime | None, int]] = field(default_factory=dict)
    absences: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    clocks: list[SlaClock] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def route_of(self, lead_id: str) -> LeadRoute | None:
        return self.routes.get(lead_id)

    def routes_many(self, lead_ids: Sequence[str]) -> dict[str, Route]:
        found = {}
        for lead_id in lead_ids:
            route = self.routes.get(lead_id)
            if route is not None and route.open:
                clock = self.running_clock(lead_id)
                found[lead_id] = Route(route.queue, route.owner, clock.due_at if clock else None)
        return found

    def save_route(self, route: LeadRoute) -> None:
        self.routes[route.lead_id] = route

    def add_assignment(self, change: AssignmentChange) -> None:
        self.assignments.append(change)

    def pick_member(
        self,
        team_id: str,
        candidates: Sequence[tuple[str, int | None]],
        strategy: Assignment,
        at: datetime,
    ) -> str | None:
        ranked = []
        for position, (member, cap) in enumerate(candidates):
            load = sum(
                1
                for r in self.routes.values()
                if r.open and r.team_id == team_id and r.owner == member
            )
            if cap is not None and load >= cap:
                continue
            last, total = self.members.get((team_id, member), (None, 0))
            ranked.append((member_rank(strategy, load, last, total, position), member))
        if not ranked:
            return None
        best = min(ranked)[1]
        self.members[(team_id, best)] = (at, self.members.get((team_id, best), (None, 0))[1] + 1)
        return best

    def absent_members(self, member_ids: Sequence[str], at: datetime) -> set[str]:
        return {m for m, start, end in self.absences if m in member_ids and start <= at < end}

    def running_clock(self, lead_id: str) -> SlaClock | None:
        running = [c for c in self.clocks if c.lead_id == lead_id and c.running]
        return running[-1] if running else None

    def save_clock(self, clock: SlaClock) -> SlaClock:
        if clock.id:
            self.clocks = [clock if c.id == clock.id else c for c in self.clocks]
            return clock
        saved = replace(clock, id=len(self.clocks) + 1)
        self.clocks.append(saved)
        return saved

    def due_clocks(self, now: datetime, limit: int) -> list[SlaClock]:
        due = [c for c in self.clocks if c.next_check_at is not None and c.next_check_at <= now]
        return sorted(due, key=lambda c: (c.next_check_at, c.id))[:limit]

    def unassigned_routes(self, limit: int) -> list[LeadRoute]:
        waiting = [
            r for r in self.routes.values() if r.open and r.owner is None and r.team_id is not None
        ]
        return sorted(waiting, key=lambda r: (r.updated_at, r.lead_id))[:limit]

    def add_notice(self, notice: Notice) -> None:
        self.notices.append(notice)

    def set_decision_route(self, lead_id: str, owner: str | None, due: datetime | None) -> None:
        current = self.decisions.get(lead_id)
        if current is None:
            return
        route = {**current.record.get("route", {}), "owner": owner}
        route["sla_due_at"] = due.isoformat() if due is not None else None
        self.decisions[lead_id] = replace(current, record={**current.record, "route": route})

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
        self.absences.append((member_id, starts_at, ends_at))
        return len(self.absences)


@dataclass
class FakeUnitOfWork:
    """The ``UnitOfWork`` port over the fakes above."""

    leads: FakeLeads = field(default_factory=FakeLeads)
    audit: FakeAudit = field(default_factory=FakeAudit)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    nurture: FakeNurture = field(default_factory=FakeNurture)
    routing: FakeRouting = field(init=False)
    tasks: FakeTasks = field(default_factory=FakeTasks)
    pending: FakeDecisionQueue = field(default_factory=FakeDecisionQueue)
    secrets: dict[str, bytes] = field(default_factory=dict)
    commits: int = 0

    def __post_init__(self) -> None:
        self.routing = FakeRouting(self.leads.decisions)

    def secret(self, name: str, now: datetime) -> bytes:
        return self.secrets.setdefault(name, bytes(range(32)))

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass


@dataclass
class FakeDatabase:
    """Runs units of work on one :class:`FakeUnitOfWork`, like ``Database.run``: an error
    puts back the state from before the unit."""

    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    units: int = 0

    def run(self, work: Callable[[Any], T], attempts: int = 5) -> T:
        before = {name: _copy(getattr(self.uow, name)) for name in _PARTS}
        before["routing"].decisions = before["leads"].decisions  # shared, as in the store
        self.units += 1
        try:
            result = work(self.uow)
        except BaseException:
            for name, part in before.items():
                setattr(self.uow, name, part)
            raise
        self.uow.commit()
        return result


_PARTS = ("leads", "audit", "outbox", "nurture", "routing", "pending")


def _copy(part: Any) -> Any:
    """A copy of a fake whose containers (and outbox rows, the one mutable record) are new;
    the records in them are frozen and shared."""
    new = copy.copy(part)
    for name, value in vars(part).items():
        if isinstance(value, list):
            setattr(new, name, [copy.copy(v) if isinstance(v, StoredMessage) else v for v in value])
        elif isinstance(value, dict):
            setattr(new, name, dict(value))
        elif isinstance(value, FakeLinkBook):
            setattr(new, name, copy.deepcopy(value))
    return new


if TYPE_CHECKING:  # the type checker (``mypy src tests/fakes``) holds the fakes to the ports
    _UNIT: UnitOfWork = FakeUnitOfWork()
    _RUN: Runner = FakeDatabase().run
