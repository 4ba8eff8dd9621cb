"""The decision queue on SQLAlchemy (``uow.pending``, the ``DecisionQueue`` port).

The ingest path inserts; a decider claims the oldest waiting leads, decides them and deletes
exactly the rows it read, in one unit of work. On PostgreSQL the claim holds the leads' rows
``FOR UPDATE SKIP LOCKED`` and a row appended while a lead is being decided stays for the next
round. Deciders take turns: a claim first takes a transaction-scoped advisory lock, so a
second decider waits for the first one's unit of work (at most ``limit`` leads) to commit.
Deciding routes leads, and routing locks team members' rows; two deciders each holding
several leads' members would wait on each other for seconds. API processes still append in
parallel; only deciding is one at a time. On SQLite the unit of work holds the database's
write lock, so there is one decider at a time anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from leadflow.adapters.db.chunks import in_chunks
from leadflow.adapters.db.tables import DecisionQueueRow, LeadRow
from leadflow.services.store.ports import Pending

_QUEUE = cast(Table, DecisionQueueRow.__table__)
_LEADS = cast(Table, LeadRow.__table__)
# the advisory lock key deciders take turns on (any constant that no other lock uses)
_DECIDER_TURN = 0x6C66_6465  # "lfde"
# a PostgreSQL decider looks this many times further than it takes, so that leads another
# decider holds do not leave it idle
_LOOK_AHEAD = 4


def _pending(row: Any) -> Pending:
    return Pending(
        lead_id=row.lead_id,
        event_id=row.event_id,
        queued_at=row.queued_at,
        actor=row.actor,
        import_max_age_s=row.import_max_age_s,
        seq=row.seq,
    )


class SqlDecisionQueue:
    """Leads waiting to be decided, in one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def enqueue(self, items: Sequence[Pending]) -> None:
        if not items:
            return
        rows = []
        for item in items:
            values = asdict(item)
            del values["seq"]
            rows.append(values)
        self.session.execute(insert(_QUEUE), rows)

    def _oldest_leads(self, limit: int) -> list[str]:
        query = (
            select(_QUEUE.c.lead_id)
            .group_by(_QUEUE.c.lead_id)
            .order_by(func.min(_QUEUE.c.seq))
            .limit(limit)
        )
        return list(self.session.execute(query).scalars())

    def claim(self, limit: int) -> list[Pending]:
        if self.dialect == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DECIDER_TURN})
            candidates = self._oldest_leads(limit * _LOOK_AHEAD)
            if not candidates:
                return []
            held = select(_LEADS.c.id).where(_LEADS.c.id.in_(candidates)).order_by(_LEADS.c.id)
            lead_ids = list(
                self.session.execute(held.limit(limit).with_for_update(skip_locked=True)).scalars()
            )
        else:
            lead_ids = self._oldest_leads(limit)
        if not lead_ids:
            return []
        rows = self.session.execute(
            select(_QUEUE).where(_QUEUE.c.lead_id.in_(lead_ids)).order_by(_QUEUE.c.seq)
        )
        return [_pending(row) for row in rows]

    def done(self, items: Sequence[Pending]) -> None:
        for chunk in in_chunks([item.seq for item in items]):
            self.session.execute(delete(_QUEUE).where(_QUEUE.c.seq.in_(chunk)))

    def is_pending(self, lead_id: str) -> bool:
        found = self.session.execute(
            select(_QUEUE.c.seq).where(_QUEUE.c.lead_id == lead_id).limit(1)
        ).first()
        return found is not None

    def depth(self) -> tuple[int, Any]:
        """How many leads wait, and since when the oldest waits (``None``: nothing waits)."""
        row = self.session.execute(
            select(func.count(func.distinct(_QUEUE.c.lead_id)), func.min(_QUEUE.c.queued_at))
        ).one()
        return int(row[0]), row[1]
