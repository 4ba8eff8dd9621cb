"""In-memory repositories for the unit of work's ports: services tested in milliseconds.

Each fake keeps the port's contract as the SQL repository does (merges followed, a clock's
id given when first saved, a message settled only while still queued), in plain lists and
dicts a test can read. :class:`FakeDatabase` runs a unit of work like ``Database.run``: on
success its changes stay, on an error the state from before the unit comes back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from leadflow.domain.decision import Decision, Route
from leadflow.domain.playbook import Assignment
from leadflow.services.nurture_ports import (
    SMS_REPLY,
    STOP_CONFIRMATION,
    Enrollment,
    NewMessage,
    QueuedMessage,
)
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

    def event_hash(self, event_id: str) -> str | None:
        return next((e.content_hash for e in self.events if e.event.event_id == event_id), None)

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
class StoredMessage:
    """A row of the fake outbox."""

    id: int
    message: NewMessage
    status: str = "queued"
    due_at: datetime | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    reason: str | None = None
    to_address: str | None = None
    sent_at: datetime | None = None


@dataclass
class FakeNurture:
    """The ``NurtureStore`` port in memory."""

    enrollments: list[Enrollment] = field(default_factory=list)
    messages: list[StoredMessage] = field(default_factory=list)

    def active_enrollment(self, lead_id: str) -> Enrollment | None:
        active = [e for e in self.enrollments if e.lead_id == lead_id and e.active]
        return active[-1] if active else None

    def add_enrollment(self, enrollment: Enrollment) -> Enrollment:
        saved = replace(enrollment, id=len(self.enrollments) + 1)
        self.enrollments.append(saved)
        return saved

    def _update(self, enrollment_id: int, **changes: Any) -> None:
        self.enrollments = [
            replace(e, **changes) if e.id == enrollment_id else e for e in self.enrollments
        ]

    def end_enrollment(self, enrollment_id: int, at: datetime, reason: str) -> None:
        if any(e.id == enrollment_id and e.active for e in self.enrollments):
            self._update(enrollment_id, ended_at=at, end_reason=reason, next_due_at=None)

    def enrollments_of(self, lead_id: str) -> list[Enrollment]:
        return [e for e in self.enrollments if e.lead_id == lead_id]

    def due_enrollments(self, now: datetime, limit: int) -> list[Enrollment]:
        due = [e for e in self.enrollments if e.active and e.next_due_at and e.next_due_at <= now]
        return sorted(due, key=lambda e: (e.next_due_at, e.id))[:limit]

    def reschedule(self, enrollment_id: int, next_step: int, next_due_at: datetime) -> None:
        self._update(enrollment_id, next_step=next_step, next_due_at=next_due_at)

    def enrollment(self, enrollment_id: int) -> Enrollment | None:
        return next((e for e in self.enrollments if e.id == enrollment_id), None)

    # -- the outbox ----------------------------------------------------------------------
    def queue_message(self, message: NewMessage) -> None:
        row = StoredMessage(len(self.messages) + 1, message, due_at=message.due_at)
        row.to_address = message.to_address
        self.messages.append(row)

    def claim_messages(self, now: datetime, limit: int, lease_until: datetime) -> list[int]:
        free = [
            m
            for m in self.messages
            if m.status == "queued"
            and m.due_at is not None
            and m.due_at <= now
            and (m.lease_until is None or m.lease_until <= now)
        ]
        claimed = sorted(free, key=lambda m: (m.due_at, m.id))[:limit]
        for m in claimed:
            m.lease_until = lease_until
        return [m.id for m in claimed]

    def row(self, message_id: int) -> StoredMessage:
        return next(m for m in self.messages if m.id == message_id)

    def locked_message(self, message_id: int) -> QueuedMessage | None:
        m = self.row(message_id)
        return QueuedMessage(
            id=m.id,
            lead_id=m.message.lead_id,
            member_id=None,
            kind=m.message.kind,
            channel=m.message.channel,
            subject=m.message.subject,
            body=m.message.body,
            to_address=m.to_address,
            created_at=m.message.created_at,
            status=m.status,
            lease_until=m.lease_until,
            attempts=m.attempts,
            enrollment_id=m.message.enrollment_id,
        )

    def _settle(self, message_id: int, **changes: Any) -> None:
        m = self.row(message_id)
        if m.status == "queued":
            for name, value in {"lease_until": None, **changes}.items():
                setattr(m, name, value)

    def message_deferred(self, message_id: int, due_at: datetime, reason: str) -> None:
        self._settle(message_id, due_at=due_at, reason=reason)

    def message_skipped(self, message_id: int, reason: str) -> None:
        self._settle(message_id, status="skipped", reason=reason)

    def message_failed(
        self, message_id: int, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        after = {"status": "failed"} if retry_at is None else {"due_at": retry_at}
        self._settle(message_id, attempts=attempts, reason=error, **after)

    def message_sent(self, message_id: int, to: str, at: datetime) -> None:
        self._settle(message_id, status="sent", to_address=to, sent_at=at, reason=None)

    def mailed_addresses(self, lead_id: str) -> set[str]:
        return {
            m.to_address
            for m in self.messages
            if m.message.lead_id == lead_id
            and m.message.channel == "email"
            and m.status == "sent"
            and m.to_address
        }

    def confirmation_sent(self, to: str, since: datetime, other_than: int) -> bool:
        return any(
            m.message.kind == STOP_CONFIRMATION
            and m.to_address == to
            and m.status == "sent"
            and m.sent_at is not None
            and m.sent_at > since
            and m.id != other_than
            for m in self.messages
        )

    def add_sms_reply(
        self, lead_id: str, from_number: str, body: str, at: datetime, redacted: str | None = None
    ) -> None:
        reply = NewMessage(lead_id, SMS_REPLY, "sms", body, at, at, to_address=from_number)
        self.messages.append(StoredMessage(len(self.messages) + 1, reply, status="review"))

    def review_pending(self, lead_id: str) -> bool:
        return any(
            m.message.lead_id == lead_id and m.message.kind == SMS_REPLY and m.status == "review"
            for m in self.messages
        )

    def clear_review(self, lead_id: str) -> int:
        pending = [
            m
            for m in self.messages
            if m.message.lead_id == lead_id and m.message.kind == SMS_REPLY and m.status == "review"
        ]
        for m in pending:
            m.status = "reviewed"
        return len(pending)


@dataclass
class FakeUnitOfWork:
    """The ``UnitOfWork`` port over the fakes above."""

    leads: FakeLeads = field(default_factory=FakeLeads)
    audit: FakeAudit = field(default_factory=FakeAudit)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    nurture: FakeNurture = field(default_factory=FakeNurture)
    routing: FakeRouting = field(init=False)
    tasks: FakeTasks = field(default_factory=FakeTasks)
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


_PARTS = ("leads", "audit", "outbox", "nurture", "routing")


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
