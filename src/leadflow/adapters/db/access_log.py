"""Who read which lead's record (append-only): written on every read, listed for admins."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables_people import RecordAccessRow

_ACCESS = cast(Table, RecordAccessRow.__table__)
MAX_LISTED = 1000


@dataclass(frozen=True)
class RecordAccess:
    """One read of a lead's record."""

    lead_id: str
    at: datetime
    actor: str
    role: str
    channel: str  # "api" | "dashboard" | "export"
    what: str  # e.g. "GET /v1/leads/{id}", "lead page", "handoff export"
    free_text: str  # "raw" | "redacted"


class SqlAccessLog:
    """Reads of lead records written in a unit of work (``uow.access``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, accesses: list[RecordAccess]) -> None:
        if accesses:
            self._session.execute(insert(_ACCESS), [asdict(a) for a in accesses])


def accesses_of(
    session: Session, lead_ids: list[str], limit: int = MAX_LISTED
) -> list[dict[str, Any]]:
    """Reads of the lead (and its merged ids), newest first."""
    rows = session.execute(
        select(_ACCESS)
        .where(_ACCESS.c.lead_id.in_(lead_ids))
        .order_by(_ACCESS.c.at.desc(), _ACCESS.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": r.at,
            "actor": r.actor,
            "role": r.role,
            "channel": r.channel,
            "what": r.what,
            "free_text": r.free_text,
            "lead_id": r.lead_id,
        }
        for r in rows
    ]
