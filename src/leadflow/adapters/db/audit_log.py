"""The audit log: records appended in order, each hash-chained to the one before (the head is
written once per transaction, when it commits), and read back in order for the verifier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import AuditHeadRow, AuditRow
from leadflow.services.store.audit import GENESIS, ChainedEntry, entry_hash
from leadflow.services.store.ports import AuditEntry

_AUDIT = cast(Table, AuditRow.__table__)
_HEAD = cast(Table, AuditHeadRow.__table__)


class SqlAuditLog:
    """The ``AuditLog`` port on one session: the head row is read (and locked on
    PostgreSQL) at the first append, so records are numbered in commit order."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._head: tuple[int, str] | None = None
        self._dirty = False
        self._exists = True

    def append(self, entry: AuditEntry) -> None:
        """Number the entry after the last one and chain its hash to it."""
        if self._head is None:
            query = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
            if self._postgres:
                query = query.with_for_update()
            row = self._session.execute(query).first()
            self._exists = row is not None
            self._head = (row.seq, row.hash) if row is not None else (0, GENESIS)
        last_seq, last_hash = self._head
        seq = last_seq + 1
        digest = entry_hash(last_hash, seq, entry)
        self._session.execute(
            insert(_AUDIT).values(
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
                prev_hash=last_hash,
                hash=digest,
            )
        )
        self._head, self._dirty = (seq, digest), True

    def write_head(self) -> None:
        """Write the chain's head (once per transaction, before it commits)."""
        if not self._dirty or self._head is None:
            return
        seq, digest = self._head
        if self._exists:
            self._session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=digest))
        else:
            self._session.execute(insert(_HEAD).values(id=1, seq=seq, hash=digest))
            self._exists = True
        self._dirty = False

    def forget(self) -> None:
        """The transaction ended: read the head again next time."""
        self._head, self._dirty = None, False


def audit_chain(session: Session) -> Iterator[ChainedEntry]:
    """Every audit record in order, as the chain verifier reads it (streamed)."""
    rows = session.scalars(
        select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=2000)
    )
    for r in rows:
        entry = AuditEntry(
            at=r.at,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            before=r.before,
            after=r.after,
            reason=r.reason,
            playbook_version=r.playbook_version,
        )
        yield ChainedEntry(r.seq, entry, r.prev_hash, r.hash)
