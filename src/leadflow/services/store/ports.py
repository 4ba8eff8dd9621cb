"""What the lead store's use cases need from storage (implemented by ``adapters/db``).

A :class:`UnitOfWork` is one unit of work: everything done through it is committed together
by :meth:`UnitOfWork.commit` or not at all. Use cases never see SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from leadflow.domain.decision import Decision
from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.services.nurture_ports import NurtureStore
from leadflow.services.routing.ports import RoutingStore, TaskStore

Clock = Callable[[], datetime]
PlaybookLookup = Callable[[str], Playbook]


@dataclass(frozen=True)
class IdentityKey:
    """Something that names exactly one lead: an email, a phone, or a source's external id."""

    kind: str  # "email" | "phone" | "external"
    value: str
    source: str = ""


@dataclass(frozen=True)
class LeadLink:
    """Another lead related to this one (``household``: they share a phone)."""

    lead_id: str
    relation: str


@dataclass(frozen=True)
class MergeRecord:
    """A merge undone: which lead absorbed which, and the event that filled the survivor's
    missing fields from the absorbed lead (``None``: nothing was filled)."""

    survivor: str
    absorbed: str
    fill_event: str | None


@dataclass(frozen=True)
class StoredLead:
    """A lead as stored: its first-known profile (later changes are events)."""

    lead_id: str
    playbook: str
    profile: LeadProfile
    created_at: datetime
    received_at: datetime
    redacted: dict[str, str] | None = None  # free text as scanned at ingest
    # the deployment rule that chose the playbook (None: the lead named it, or stored
    # before playbooks were chosen by rule)
    chosen_by: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event with what the store adds: a content hash, where it came from, who sent it."""

    event: Event
    content_hash: str
    source: str | None
    actor: str
    recorded_at: datetime
    redacted: dict[str, str] | None = None  # free-text properties as scanned at ingest


@dataclass(frozen=True)
class ConsentRecord:
    """One consent grant or revocation (COMPLIANCE.md): per channel and exact contact point."""

    lead_id: str
    channel: str
    purpose: str
    contact_point: str | None
    status: str  # "granted" | "revoked"
    captured_at: datetime
    source: str
    method: str
    disclosure_version: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    revoked_at: datetime | None = None
    revoked_how: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class StageChange:
    """A row of a lead's stage history."""

    lead_id: str
    from_stage: str | None
    to_stage: str
    status: str
    reasons: list[dict[str, Any]]
    playbook_id: str
    playbook_version: str
    changed_at: datetime
    actor: str
    event_id: str | None


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One audit record before it is numbered and chained (every field named at the call:
    five of them are strings, easy to swap by position)."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None
    playbook_version: str | None = None


@dataclass(frozen=True)
class CurrentDecision:
    """A lead's stored decision and when it was made."""

    stage: str
    record: dict[str, Any]
    decided_at: datetime


class Outbox(Protocol):
    """Outbound webhooks, written with the change they report (the transactional outbox)."""

    def enqueue(self, event_type: str, payload: dict[str, Any], at: datetime) -> int:
        """One message per enabled endpoint subscribed to ``event_type``, in this unit of
        work (sent after commit by the worker); returns how many were added."""
        ...


class AuditLog(Protocol):
    """The hash-chained audit log of a unit of work."""

    def append(self, entry: AuditEntry) -> None:
        """Number the entry after the last one and chain its hash to it."""
        ...


class Leads(Protocol):
    """Leads, identities, events, decisions, stage history and consents (``uow.leads``)."""

    # leads and identities
    def get_lead(self, lead_id: str) -> StoredLead | None:
        """The lead, following merges to the surviving lead."""
        ...

    def lock_lead(self, lead_id: str) -> None:
        """Hold the lead's row until commit, so that its events are decided in order."""
        ...

    def leads_by_identity(self, keys: Sequence[IdentityKey]) -> list[str]:
        """Surviving lead ids named by any of ``keys``, oldest first, without repeats."""
        ...

    def add_lead(self, lead: StoredLead, merged_into: str | None = None) -> None:
        """Store the lead; with ``merged_into``, as an alias of that lead (a merge with
        nothing to move, recorded so that it can be undone)."""
        ...

    def add_identities(self, lead_id: str, keys: Sequence[IdentityKey], at: datetime) -> None:
        """Add the keys not yet known (a known key keeps its lead)."""
        ...

    def merge(
        self, survivor: str, absorbed: str, at: datetime, fill_event: str | None = None
    ) -> None:
        """Move ``absorbed``'s events, identities, consents and aliases to ``survivor``,
        recording which rows moved (and ``fill_event``, the survivor's event that adds what
        only ``absorbed`` knew) so that :meth:`unmerge` moves exactly those back."""
        ...

    def unmerge(self, absorbed: str, at: datetime) -> MergeRecord | None:
        """Undo the standing merge of ``absorbed``: the rows it moved go back and
        ``absorbed`` is a lead of its own again (``None``: it is not merged, or was merged
        before merges were recorded)."""
        ...

    def add_link(self, lead_id: str, related_id: str, relation: str, at: datetime) -> None:
        """Link two leads (once: an existing link either way is kept)."""
        ...

    def links_of(self, lead_id: str) -> list[LeadLink]:
        """The surviving leads linked to ``lead_id`` either way, in id order."""
        ...

    # events
    def event_hashes(self, event_ids: Collection[str]) -> dict[str, str]:
        """The content hash of each of ``event_ids`` already stored (one read, not one per
        event)."""
        ...

    def add_events(self, events: Sequence[StoredEvent]) -> None: ...

    def events_of(self, lead_id: str) -> list[Event]: ...

    # decisions, history, consents, audit
    def current_decision(self, lead_id: str) -> CurrentDecision | None: ...

    def save_decision(
        self, decision: Decision, decided_at: datetime, next_change_at: datetime | None = None
    ) -> None:
        """Replace the lead's decision; ``next_change_at``: when time alone may change it."""
        ...

    def due_for_change(self, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` leads whose ``next_change_at`` has come, locked for this unit."""
        ...

    def add_stage_change(self, change: StageChange) -> None: ...

    def add_consent(self, consent: ConsentRecord) -> None: ...

    def consents_of(self, lead_id: str) -> list[ConsentRecord]: ...

    def open_lead_ids(self, after: str, limit: int) -> list[str]:
        """Up to ``limit`` ids after ``after`` of surviving leads whose stage is not final."""
        ...

    # many leads at once (re-qualifying in batches)
    def leads_many(self, lead_ids: Sequence[str]) -> list[StoredLead]: ...

    def events_of_many(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]: ...

    def stages_many(self, lead_ids: Sequence[str]) -> dict[str, str]: ...

    def save_decisions(
        self,
        decisions: Sequence[Decision],
        decided_at: datetime,
        next_changes: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """Replace the stored decisions of leads that have one, in one statement."""
        ...


@dataclass(frozen=True)
class Pending:
    """A lead whose appended events wait for a decider: the last event appended for it, who
    appended it, and when. ``import_max_age_s``: brought in by ``leadflow import``, so its
    clocks start from its history (:class:`~leadflow.services.routing.assign.ImportedClocks`).
    ``seq`` is the queue's own number, set by the store."""

    lead_id: str
    event_id: str | None
    queued_at: datetime
    actor: str
    import_max_age_s: int | None = None
    seq: int = 0


class DecisionQueue(Protocol):
    """Leads waiting to be decided (``uow.pending``): the ingest path appends, deciders take."""

    def enqueue(self, items: Sequence[Pending]) -> None:
        """Add the items in one statement; never waits on a lead or a decider."""
        ...

    def claim(self, limit: int) -> list[Pending]:
        """The queued items of up to ``limit`` leads, oldest first, those leads held for this
        unit of work; leads another decider holds are skipped, not waited for."""
        ...

    def done(self, items: Sequence[Pending]) -> None:
        """Remove ``items`` (claimed before): their leads' decisions are stored."""
        ...

    def is_pending(self, lead_id: str) -> bool:
        """Whether events of the lead wait for a decision."""
        ...


class UnitOfWork(Protocol):
    """One unit of work: its repositories' changes are committed together or not at all."""

    @property
    def leads(self) -> Leads:
        """Leads and everything recorded about them, in this unit of work."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log, written in this unit of work."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Outbound webhooks, queued in this unit of work."""
        ...

    @property
    def routing(self) -> RoutingStore:
        """Routes, owners and SLA clocks, in this unit of work."""
        ...

    @property
    def tasks(self) -> TaskStore:
        """Tasks on leads for their owners, in this unit of work."""
        ...

    @property
    def nurture(self) -> NurtureStore:
        """Nurture enrollments and the message outbox, in this unit of work."""
        ...

    @property
    def pending(self) -> DecisionQueue:
        """Leads whose appended events wait for a decider, in this unit of work."""
        ...

    def secret(self, name: str, now: datetime) -> bytes:
        """The store's own secret ``name``, made the first time it is asked for."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


R = TypeVar("R")


class Runner(Protocol):
    """Runs one unit of work and commits it (``Database.run``), retrying one that lost a race
    up to ``attempts`` times."""

    def __call__(self, work: Callable[[UnitOfWork], R], attempts: int = 5) -> R: ...
