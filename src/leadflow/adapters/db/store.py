"""The lead store on SQLAlchemy: one :class:`SqlLeadStore` per unit of work.

:class:`Database` owns the engine and opens units of work; :meth:`Database.run` retries a
unit of work that lost a race (a unique key taken by a concurrent transaction), so callers
see either their work committed once or a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from leadflow.adapters.db.convert import (
    consent_from_row,
    event_from_row,
    lead_from_row,
    profile_from_json,
    profile_to_json,
)
from leadflow.adapters.db.engine import READ_ONLY
from leadflow.adapters.db.tables import (
    AuditHeadRow,
    AuditRow,
    ConsentRow,
    DecisionRow,
    EventRow,
    IdempotencyRow,
    IdentityRow,
    LeadRow,
    StageChangeRow,
    WebhookDeliveryRow,
)
from leadflow.domain.decision import Decision
from leadflow.domain.events import Event, EventType
from leadflow.domain.stages import TERMINAL_STAGES
from leadflow.errors import ConcurrentUpdateError
from leadflow.services.store.audit import GENESIS, entry_hash
from leadflow.services.store.ports import (
    AuditEntry,
    ConsentRecord,
    CurrentDecision,
    IdentityKey,
    StageChange,
    StoredEvent,
    StoredLead,
)

T = TypeVar("T")
_TERMINAL = sorted(s.value for s in TERMINAL_STAGES)
_MAX_MERGE_DEPTH = 16
_EVENT_TYPES = {t.value: t for t in EventType}


class SqlLeadStore:
    """A unit of work over one SQLAlchemy session (the ``LeadStore`` port)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self._head: AuditHeadRow | None = None

    # -- unit of work ------------------------------------------------------------------
    def commit(self) -> None:
        self.session.commit()
        self._head = None

    def rollback(self) -> None:
        self.session.rollback()
        self._head = None

    def flush(self) -> None:
        self.session.flush()

    # -- leads and identities ------------------------------------------------------------
    def _surviving_row(self, lead_id: str) -> LeadRow | None:
        row = self.session.get(LeadRow, lead_id)
        depth = 0
        while row is not None and row.merged_into is not None and depth < _MAX_MERGE_DEPTH:
            row = self.session.get(LeadRow, row.merged_into)
            depth += 1
        return row

    def get_lead(self, lead_id: str) -> StoredLead | None:
        row = self._surviving_row(lead_id)
        return None if row is None else lead_from_row(row)

    def lead_exists(self, lead_id: str) -> bool:
        return self.session.get(LeadRow, lead_id) is not None

    def lock_lead(self, lead_id: str) -> None:
        if self.dialect == "postgresql":
            self.session.execute(
                select(LeadRow.id).where(LeadRow.id == lead_id).with_for_update()
            ).all()

    def leads_by_identity(self, keys: Sequence[IdentityKey]) -> list[str]:
        if not keys:
            return []
        wanted = [(k.kind, k.source, k.value) for k in keys]
        found = self.session.scalars(
            select(IdentityRow.lead_id).where(
                tuple_(IdentityRow.kind, IdentityRow.source, IdentityRow.value).in_(wanted)
            )
        ).all()
        rows: dict[str, LeadRow] = {}
        for lead_id in found:
            row = self._surviving_row(lead_id)
            if row is not None:
                rows[row.id] = row
        return [r.id for r in sorted(rows.values(), key=lambda r: (r.created_at, r.id))]

    def add_lead(self, lead: StoredLead, merged_into: str | None = None) -> None:
        self.session.add(
            LeadRow(
                id=lead.lead_id,
                playbook=lead.playbook,
                lead_type=lead.profile.lead_type,
                source=lead.profile.source,
                profile=profile_to_json(lead.profile),
                created_at=lead.created_at,
                received_at=lead.received_at,
                merged_into=merged_into,
            )
        )
        self.session.flush()

    def add_identities(self, lead_id: str, keys: Sequence[IdentityKey], at: datetime) -> None:
        for key in keys:
            exists = self.session.scalar(
                select(IdentityRow.id).where(
                    IdentityRow.kind == key.kind,
                    IdentityRow.source == key.source,
                    IdentityRow.value == key.value,
                )
            )
            if exists is None:
                self.session.add(
                    IdentityRow(
                        lead_id=lead_id,
                        kind=key.kind,
                        source=key.source,
                        value=key.value,
                        created_at=at,
                    )
                )
        self.session.flush()

    def merge(self, survivor: str, absorbed: str) -> None:
        s = self.session
        for table in (EventRow, IdentityRow, ConsentRow):
            s.execute(update(table).where(table.lead_id == absorbed).values(lead_id=survivor))
        s.execute(
            update(LeadRow)
            .where((LeadRow.id == absorbed) | (LeadRow.merged_into == absorbed))
            .values(merged_into=survivor)
        )
        s.execute(delete(DecisionRow).where(DecisionRow.lead_id == absorbed))
        s.expire_all()

    # -- events ------------------------------------------------------------------------
    def event_hash(self, event_id: str) -> str | None:
        return self.session.scalar(
            select(EventRow.content_hash).where(EventRow.event_id == event_id)
        )

    def add_events(self, events: Sequence[StoredEvent]) -> None:
        self.session.add_all(
            EventRow(
                event_id=e.event.event_id,
                lead_id=e.event.lead_id,
                type=e.event.type.value,
                occurred_at=e.event.occurred_at,
                recorded_at=e.recorded_at,
                properties=dict(e.event.properties),
                content_hash=e.content_hash,
                source=e.source,
                actor=e.actor,
            )
            for e in events
        )
        self.session.flush()

    def events_of(self, lead_id: str) -> list[Event]:
        rows = self.session.scalars(
            select(EventRow).where(EventRow.lead_id == lead_id).order_by(EventRow.seq)
        )
        return [event_from_row(r) for r in rows]

    def events_of_many(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = {lead_id: [] for lead_id in lead_ids}
        # Plain rows, not ORM objects: this reads every event of a batch of leads.
        rows = self.session.execute(
            select(
                EventRow.event_id,
                EventRow.lead_id,
                EventRow.type,
                EventRow.occurred_at,
                EventRow.properties,
            )
            .where(EventRow.lead_id.in_(lead_ids))
            .order_by(EventRow.seq)
        )
        types = _EVENT_TYPES
        for event_id, lead_id, kind, occurred_at, properties in rows:
            found[lead_id].append(
                Event(event_id, lead_id, types[kind], occurred_at, MappingProxyType(properties))
            )
        return found

    # -- decisions, history, consents ------------------------------------------------------
    def current_decision(self, lead_id: str) -> CurrentDecision | None:
        row = self.session.get(DecisionRow, lead_id)
        return None if row is None else CurrentDecision(row.stage, row.record, row.decided_at)

    def save_decision(self, decision: Decision, decided_at: datetime) -> None:
        values = _decision_values(decision, decided_at)
        row = self.session.get(DecisionRow, decision.lead_id)
        if row is None:
            self.session.add(DecisionRow(lead_id=decision.lead_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)

    def save_decisions(self, decisions: Sequence[Decision], decided_at: datetime) -> None:
        if decisions:
            self.session.execute(
                update(DecisionRow),
                [{"lead_id": d.lead_id, **_decision_values(d, decided_at)} for d in decisions],
            )

    def add_stage_change(self, change: StageChange) -> None:
        self.session.add(
            StageChangeRow(
                lead_id=change.lead_id,
                from_stage=change.from_stage,
                to_stage=change.to_stage,
                status=change.status,
                reasons=change.reasons,
                playbook_id=change.playbook_id,
                playbook_version=change.playbook_version,
                changed_at=change.changed_at,
                actor=change.actor,
                event_id=change.event_id,
            )
        )

    def add_consent(self, consent: ConsentRecord) -> None:
        self.session.add(
            ConsentRow(
                lead_id=consent.lead_id,
                channel=consent.channel,
                purpose=consent.purpose,
                contact_point=consent.contact_point,
                status=consent.status,
                captured_at=consent.captured_at,
                source=consent.source,
                method=consent.method,
                disclosure_version=consent.disclosure_version,
                evidence=consent.evidence,
                revoked_at=consent.revoked_at,
                revoked_how=consent.revoked_how,
                event_id=consent.event_id,
            )
        )
        self.session.flush()

    def consents_of(self, lead_id: str) -> list[ConsentRecord]:
        rows = self.session.scalars(
            select(ConsentRow).where(ConsentRow.lead_id == lead_id).order_by(ConsentRow.id)
        )
        return [consent_from_row(r) for r in rows]

    # -- audit -----------------------------------------------------------------------
    def append_audit(self, entry: AuditEntry) -> None:
        head = self._head
        if head is None:
            query = select(AuditHeadRow).where(AuditHeadRow.id == 1)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            head = self.session.scalar(query)
            if head is None:
                head = AuditHeadRow(id=1, seq=0, hash=GENESIS)
                self.session.add(head)
            self._head = head
        seq = head.seq + 1
        digest = entry_hash(head.hash, seq, entry)
        self.session.add(
            AuditRow(
                seq=seq,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                entity=entry.entity,
                entity_id=entry.entity_id,
                before=entry.before,
                after=entry.after,
                reason=entry.reason,
                playbook_version=entry.playbook_version,
                prev_hash=head.hash,
                hash=digest,
            )
        )
        head.seq, head.hash = seq, digest

    # -- open leads --------------------------------------------------------------------
    def open_lead_ids(self, after: str, limit: int) -> list[str]:
        return list(
            self.session.scalars(
                select(LeadRow.id)
                .join(DecisionRow, DecisionRow.lead_id == LeadRow.id)
                .where(
                    LeadRow.merged_into.is_(None),
                    DecisionRow.stage.not_in(_TERMINAL),
                    LeadRow.id > after,
                )
                .order_by(LeadRow.id)
                .limit(limit)
            )
        )

    def leads_many(self, lead_ids: Sequence[str]) -> list[StoredLead]:
        # Plain rows, not ORM objects: a batch of leads is read at once.
        rows = self.session.execute(
            select(
                LeadRow.id,
                LeadRow.playbook,
                LeadRow.profile,
                LeadRow.created_at,
                LeadRow.received_at,
            ).where(LeadRow.id.in_(lead_ids))
        )
        return [
            StoredLead(lead_id, playbook, profile_from_json(lead_id, profile), created, received)
            for lead_id, playbook, profile, created, received in rows
        ]

    def stages_many(self, lead_ids: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(
            select(DecisionRow.lead_id, DecisionRow.stage).where(DecisionRow.lead_id.in_(lead_ids))
        )
        return {str(lead_id): str(stage) for lead_id, stage in rows}

    # -- idempotency and webhook deliveries ---------------------------------------------------
    def claim_key(self, key: str) -> bool:
        """Hold ``key`` for this transaction; ``False`` if another transaction holds it."""
        if self.dialect != "postgresql":
            return True  # SQLite runs one writing transaction at a time
        return bool(
            self.session.scalar(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
            )
        )

    def stored_response(self, key: str) -> tuple[str, int, dict[str, Any]] | None:
        row = self.session.get(IdempotencyRow, key)
        return None if row is None else (row.request_hash, row.status_code, row.response)

    def save_response(
        self, key: str, request_hash: str, status: int, body: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            IdempotencyRow(
                key=key, request_hash=request_hash, status_code=status, response=body, created_at=at
            )
        )
        self.session.flush()

    def delivery(self, source: str, delivery_id: str) -> tuple[int, dict[str, Any]] | None:
        row = self.session.get(WebhookDeliveryRow, (source, delivery_id))
        return None if row is None else (row.status_code, row.response)

    def save_delivery(
        self, source: str, delivery_id: str, status: int, body: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            WebhookDeliveryRow(
                source=source,
                delivery_id=delivery_id,
                received_at=at,
                status_code=status,
                response=body,
            )
        )
        self.session.flush()

    def count(self, table: type[Any]) -> int:
        return int(self.session.scalar(select(func.count()).select_from(table)) or 0)


class Database:
    """The engine and the units of work opened on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlLeadStore]:
        """A store whose work is rolled back unless committed; races become retryable errors."""
        with self._sessions() as session:
            store = SqlLeadStore(session)
            try:
                yield store
            except IntegrityError as exc:
                store.rollback()
                raise ConcurrentUpdateError(
                    "another request stored the same record first; retry the request"
                ) from exc
            except OperationalError as exc:
                store.rollback()
                if _is_serialization_failure(exc):
                    raise ConcurrentUpdateError("the database reported a conflict") from exc
                raise
            except BaseException:
                store.rollback()
                raise

    def run(self, work: Callable[[SqlLeadStore], T], attempts: int = 5) -> T:
        """Run ``work`` in a unit of work and commit, retrying a unit that lost a race."""
        for attempt in range(1, attempts + 1):
            try:
                with self.unit_of_work() as store:
                    result = work(store)
                    store.commit()
                    return result
            except ConcurrentUpdateError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (rolled back at the end: reads never write)."""
        with self._readers() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def _decision_values(decision: Decision, decided_at: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "stage": decision.stage.value,
        "status": decision.status,
        "band": decision.band,
        "fit_score": decision.fit_score,
        "intent_score": decision.intent_score,
        "queue": decision.route.queue,
        "owner": decision.route.owner,
        "sla_due_at": decision.route.sla_due_at,
        "playbook_id": decision.playbook_id,
        "playbook_version": decision.playbook_version,
        "decided_at": decided_at,
        "record": decision.to_record(),
    }
    return values


def _is_serialization_failure(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40001", "40P01"}
