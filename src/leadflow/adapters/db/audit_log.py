"""The audit log's read side: every record in order, as the chain verifier reads it."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import AuditRow
from leadflow.services.store.audit import ChainedEntry
from leadflow.services.store.ports import AuditEntry


def audit_chain(session: Session) -> Iterator[ChainedEntry]:
    """Every audit record in order, as the chain verifier reads it (streamed)."""
    rows = session.scalars(
        select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=2000)
    )
    for r in rows:
        entry = AuditEntry(
            r.at,
            r.actor,
            r.action,
            r.entity,
            r.entity_id,
            r.before,
            r.after,
            r.reason,
            r.playbook_version,
        )
        yield ChainedEntry(r.seq, entry, r.prev_hash, r.hash)
