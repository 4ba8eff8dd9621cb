"""Leads, their identities, events, decisions, stage history and consents in SQL
(``uow.leads``, the ``Leads`` port).

Writes and most reads are Core statements on the mapped tables rather than ORM objects: a
lead's ingest runs a dozen statements, and the ORM's bookkeeping would cost more than the
database does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.orm import Session

from leadflow.adapters.db import lead_links
from leadflow.adapters.db.chunks import in_chunks
from leadflow.adapters.db.convert import chosen_by, lead_json, profile_from_json
from leadflow.adapters.db.tables import (
    ConsentRow,
    DecisionRow,
    EventRow,
    IdentityRow,
    LeadRow,
    StageChangeRow,
)
from leadflow.domain.decision import Decision
from leadflow.domain.events import Event, EventType
from leadflow.domain.stages import TERMINAL_STAGES
from leadflow.errors import ConcurrentUpdateError
from leadflow.services.store.ports import (
    ConsentRecord,
    CurrentDecision,
    IdentityKey,
    LeadLink,
    MergeRecord,
    StageChange,
    StoredEvent,
    StoredLead,
)

_LEADS = cast(Table, LeadRow.__table__)
_IDENTITIES = cast(Table, IdentityRow.__table__)
_EVENTS = cast(Table, EventRow.__table__)
_DECISIONS = cast(Table, DecisionRow.__table__)
_HISTORY = cast(Table, StageChangeRow.__table__)
_CONSENTS = cast(Table, ConsentRow.__table__)
_TERMINAL = sorted(s.value for s in TERMINAL_STAGES)
_MAX_MERGE_DEPTH = 16
_EVENT_TYPES = {t.value: t for t in EventType}


class SqlLeads:
    """The ``Leads`` port on the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def _run(self, statement: Any, params: Any = None) -> Any:
        return self.session.execute(statement, params)

    # -- leads and identities ------------------------------------------------------------
    def _surviving(self, lead_id: str) -> Any:
        """The surviving lead's row (following merges) as a plain row, or ``None``."""
        query = select(
            _LEADS.c.id,
            _LEADS.c.playbook,
            _LEADS.c.profile,
            _LEADS.c.created_at,
            _LEADS.c.received_at,
            _LEADS.c.merged_into,
        )
        row = self._run(query.where(_LEADS.c.id == lead_id)).first()
        depth = 0
        while row is not None and row.merged_into is not None and depth < _MAX_MERGE_DEPTH:
            row = self._run(query.where(_LEADS.c.id == row.merged_into)).first()
            depth += 1
        return row

    def get_lead(self, lead_id: str) -> StoredLead | None:
        row = self._surviving(lead_id)
        if row is None:
            return None
        return StoredLead(
            row.id,
            row.playbook,
            profile_from_json(row.id, row.profile),
            row.created_at,
            row.received_at,
            chosen_by=chosen_by(row.profile),
        )

    def lead_exists(self, lead_id: str) -> bool:
        found = self._run(select(_LEADS.c.id).where(_LEADS.c.id == lead_id)).first()
        return found is not None

    def lock_lead(self, lead_id: str) -> None:
        if self.dialect == "postgresql":
            self._run(select(_LEADS.c.id).where(_LEADS.c.id == lead_id).with_for_update()).all()

    def leads_by_identity(self, keys: Sequence[IdentityKey]) -> list[str]:
        if not keys:
            return []
        wanted = [(k.kind, k.source, k.value) for k in keys]
        found = self._run(
            select(_IDENTITIES.c.lead_id).where(
                tuple_(_IDENTITIES.c.kind, _IDENTITIES.c.source, _IDENTITIES.c.value).in_(wanted)
            )
        ).scalars()
        rows: dict[str, Any] = {}
        for lead_id in found:
            row = self._surviving(lead_id)
            if row is not None:
                rows[row.id] = row
        return [r.id for r in sorted(rows.values(), key=lambda r: (r.created_at, r.id))]

    def add_lead(self, lead: StoredLead, merged_into: str | None = None) -> None:
        self._run(
            insert(_LEADS).values(
                id=lead.lead_id,
                playbook=lead.playbook,
                lead_type=lead.profile.lead_type,
                source=lead.profile.source,
                profile=lead_json(lead),
                created_at=lead.created_at,
                received_at=lead.received_at,
                merged_into=merged_into,
                redacted=lead.redacted,
            )
        )
        if merged_into is not None:
            lead_links.record_alias(self.session, merged_into, lead.lead_id, lead.received_at)

    def add_identities(self, lead_id: str, keys: Sequence[IdentityKey], at: datetime) -> None:
        if not keys:
            return
        wanted = {(k.kind, k.source, k.value) for k in keys}
        owners = {
            (kind, source, value): owner
            for kind, source, value, owner in self._run(
                select(
                    _IDENTITIES.c.kind,
                    _IDENTITIES.c.source,
                    _IDENTITIES.c.value,
                    _IDENTITIES.c.lead_id,
                ).where(
                    tuple_(_IDENTITIES.c.kind, _IDENTITIES.c.source, _IDENTITIES.c.value).in_(
                        sorted(wanted)
                    )
                )
            )
        }
        if any(owner != lead_id for owner in owners.values()):
            # Another transaction stored this email, phone or id for its own lead after this
            # one looked: retrying matches that lead instead of making a second one.
            raise ConcurrentUpdateError("another request stored the same identity first; retry")
        new = [
            {"lead_id": lead_id, "kind": k, "source": s, "value": v, "created_at": at}
            for k, s, v in sorted(wanted - owners.keys())
        ]
        if new:
            self._run(insert(_IDENTITIES), new)

    def merge(
        self, survivor: str, absorbed: str, at: datetime, fill_event: str | None = None
    ) -> None:
        lead_links.merge(self.session, survivor, absorbed, at, fill_event)

    def unmerge(self, absorbed: str, at: datetime) -> MergeRecord | None:
        return lead_links.unmerge(self.session, absorbed, at)

    def add_link(self, lead_id: str, related_id: str, relation: str, at: datetime) -> None:
        lead_links.add_link(self.session, lead_id, related_id, relation, at)

    def links_of(self, lead_id: str) -> list[LeadLink]:
        return lead_links.links_of(self.session, lead_id)

    # -- events ------------------------------------------------------------------------
    def event_hashes(self, event_ids: Collection[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in in_chunks(sorted(set(event_ids))):
            query = select(_EVENTS.c.event_id, _EVENTS.c.content_hash).where(
                _EVENTS.c.event_id.in_(chunk)
            )
            found.update((row.event_id, row.content_hash) for row in self._run(query))
        return found

    def add_events(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        self._run(
            insert(_EVENTS),
            [
                {
                    "event_id": e.event.event_id,
                    "lead_id": e.event.lead_id,
                    "type": e.event.type.value,
                    "occurred_at": e.event.occurred_at,
                    "recorded_at": e.recorded_at,
                    "properties": dict(e.event.properties),
                    "content_hash": e.content_hash,
                    "source": e.source,
                    "actor": e.actor,
                    "redacted": e.redacted,
                }
                for e in events
            ],
        )

    def events_of(self, lead_id: str) -> list[Event]:
        return self.events_of_many([lead_id])[lead_id]

    def events_of_many(self, lead_ids: Sequence[str]) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = {lead_id: [] for lead_id in lead_ids}
        rows = self._run(
            select(
                _EVENTS.c.event_id,
                _EVENTS.c.lead_id,
                _EVENTS.c.type,
                _EVENTS.c.occurred_at,
                _EVENTS.c.properties,
            )
            .where(_EVENTS.c.lead_id.in_(lead_ids))
            .order_by(_EVENTS.c.seq)
        )
        types = _EVENT_TYPES
        for event_id, lead_id, kind, occurred_at, properties in rows:
            found[lead_id].append(
                Event(event_id, lead_id, types[kind], occurred_at, MappingProxyType(properties))
            )
        return found

    # -- decisions, history, consents ------------------------------------------------------
    def current_decision(self, lead_id: str) -> CurrentDecision | None:
        row = self._run(
            select(_DECISIONS.c.stage, _DECISIONS.c.record, _DECISIONS.c.decided_at).where(
                _DECISIONS.c.lead_id == lead_id
            )
        ).first()
        return None if row is None else CurrentDecision(row.stage, row.record, row.decided_at)

    def save_decision(
        self, decision: Decision, decided_at: datetime, next_change_at: datetime | None = None
    ) -> None:
        values = _decision_values(decision, decided_at, next_change_at)
        done = self._run(
            update(_DECISIONS).where(_DECISIONS.c.lead_id == decision.lead_id).values(**values)
        )
        if done.rowcount == 0:
            self._run(insert(_DECISIONS).values(lead_id=decision.lead_id, **values))

    def save_decisions(
        self,
        decisions: Sequence[Decision],
        decided_at: datetime,
        next_changes: Mapping[str, datetime | None] | None = None,
    ) -> None:
        after = next_changes or {}
        if decisions:
            self._run(
                update(_DECISIONS).where(_DECISIONS.c.lead_id == bindparam("b_lead_id")),
                [
                    {
                        "b_lead_id": d.lead_id,
                        **_decision_values(d, decided_at, after.get(d.lead_id)),
                    }
                    for d in decisions
                ],
            )

    def due_for_change(self, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` leads whose decision time alone may have changed by ``now``,
        earliest first, locked for this transaction (PostgreSQL skips other workers' rows)."""
        # The lead's row is what is locked, as ingest locks it (one lock order, no deadlock).
        query = (
            select(_DECISIONS.c.lead_id)
            .join(_LEADS, _LEADS.c.id == _DECISIONS.c.lead_id)
            .where(
                _LEADS.c.merged_into.is_(None),
                _DECISIONS.c.next_change_at.is_not(None),
                _DECISIONS.c.next_change_at <= now,
            )
            .order_by(_DECISIONS.c.next_change_at, _DECISIONS.c.lead_id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=_LEADS)
        )
        return list(self.session.scalars(query))

    def add_stage_change(self, change: StageChange) -> None:
        self._run(
            insert(_HISTORY).values(
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
        self._run(
            insert(_CONSENTS).values(
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

    def consents_of(self, lead_id: str) -> list[ConsentRecord]:
        rows = self._run(
            select(_CONSENTS).where(_CONSENTS.c.lead_id == lead_id).order_by(_CONSENTS.c.id)
        )
        return [
            ConsentRecord(
                lead_id=r.lead_id,
                channel=r.channel,
                purpose=r.purpose,
                contact_point=r.contact_point,
                status=r.status,
                captured_at=r.captured_at,
                source=r.source,
                method=r.method,
                disclosure_version=r.disclosure_version,
                evidence=r.evidence,
                revoked_at=r.revoked_at,
                revoked_how=r.revoked_how,
                event_id=r.event_id,
            )
            for r in rows
        ]

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
            StoredLead(
                lead_id,
                playbook,
                profile_from_json(lead_id, profile),
                created,
                received,
                chosen_by=chosen_by(profile),
            )
            for lead_id, playbook, profile, created, received in rows
        ]

    def stages_many(self, lead_ids: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(
            select(DecisionRow.lead_id, DecisionRow.stage).where(DecisionRow.lead_id.in_(lead_ids))
        )
        return {str(lead_id): str(stage) for lead_id, stage in rows}


def _decision_values(
    decision: Decision, decided_at: datetime, next_change_at: datetime | None
) -> dict[str, Any]:
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
        "next_change_at": next_change_at,
        "record": decision.to_record(),
    }
    return values
