"""Merges that can be undone and leads linked as a household, in SQL (``lead_links``).

A merge records, by row id, the events, identities and consents it moved and the aliases it
re-pointed; an unmerge moves exactly those back. Events and consents stay append-only: only
their ``lead_id`` moves, and each move is audited by the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import (
    ConsentRow,
    DecisionRow,
    EventRow,
    IdentityRow,
    LeadLinkRow,
    LeadRow,
)
from leadflow.services.store.ports import LeadLink, MergeRecord

_LEADS = cast(Table, LeadRow.__table__)
_LINKS = cast(Table, LeadLinkRow.__table__)
_EVENTS = cast(Table, EventRow.__table__)
_IDENTITIES = cast(Table, IdentityRow.__table__)
_CONSENTS = cast(Table, ConsentRow.__table__)
_DECISIONS = cast(Table, DecisionRow.__table__)
MERGED = "merged"


def _ids(session: Session, column: Any, key: Any, lead_id: str) -> list[Any]:
    return list(session.execute(select(column).where(key == lead_id)).scalars())


def record_alias(session: Session, survivor: str, alias: str, at: datetime) -> None:
    """A posted lead id that matched ``survivor``: a merge that moved nothing."""
    session.execute(
        insert(_LINKS).values(
            lead_id=survivor, related_id=alias, relation=MERGED, created_at=at, moved={}
        )
    )


def merge(
    session: Session, survivor: str, absorbed: str, at: datetime, fill_event: str | None
) -> None:
    """Move ``absorbed``'s rows to ``survivor`` and record which (see the module)."""
    moved = {
        "events": _ids(session, _EVENTS.c.event_id, _EVENTS.c.lead_id, absorbed),
        "identities": _ids(session, _IDENTITIES.c.id, _IDENTITIES.c.lead_id, absorbed),
        "consents": _ids(session, _CONSENTS.c.id, _CONSENTS.c.lead_id, absorbed),
        "aliases": _ids(session, _LEADS.c.id, _LEADS.c.merged_into, absorbed),
        "fill_event": fill_event,
    }
    for table in (_EVENTS, _IDENTITIES, _CONSENTS):
        session.execute(update(table).where(table.c.lead_id == absorbed).values(lead_id=survivor))
    session.execute(
        update(_LEADS)
        .where((_LEADS.c.id == absorbed) | (_LEADS.c.merged_into == absorbed))
        .values(merged_into=survivor)
    )
    session.execute(_DECISIONS.delete().where(_DECISIONS.c.lead_id == absorbed))
    session.execute(
        insert(_LINKS).values(
            lead_id=survivor, related_id=absorbed, relation=MERGED, created_at=at, moved=moved
        )
    )


def unmerge(session: Session, absorbed: str, at: datetime) -> MergeRecord | None:
    """Move back what the standing merge of ``absorbed`` moved (``None``: none recorded)."""
    lead = session.execute(select(_LEADS.c.merged_into).where(_LEADS.c.id == absorbed)).first()
    if lead is None or lead.merged_into is None:
        return None
    link = session.execute(
        select(_LINKS.c.id, _LINKS.c.lead_id, _LINKS.c.moved)
        .where(
            _LINKS.c.related_id == absorbed,
            _LINKS.c.relation == MERGED,
            _LINKS.c.ended_at.is_(None),
        )
        .order_by(_LINKS.c.id.desc())
    ).first()
    if link is None:
        return None
    moved: dict[str, Any] = link.moved or {}
    moves = (
        (_EVENTS, _EVENTS.c.event_id, moved.get("events")),
        (_IDENTITIES, _IDENTITIES.c.id, moved.get("identities")),
        (_CONSENTS, _CONSENTS.c.id, moved.get("consents")),
    )
    for table, key, ids in moves:
        if ids:
            session.execute(update(table).where(key.in_(ids)).values(lead_id=absorbed))
    back = [absorbed, *(moved.get("aliases") or [])]
    session.execute(update(_LEADS).where(_LEADS.c.id.in_(back[1:])).values(merged_into=absorbed))
    session.execute(update(_LEADS).where(_LEADS.c.id == absorbed).values(merged_into=None))
    session.execute(update(_LINKS).where(_LINKS.c.id == link.id).values(ended_at=at))
    return MergeRecord(link.lead_id, absorbed, moved.get("fill_event"))


def add_link(session: Session, lead_id: str, related_id: str, relation: str, at: datetime) -> None:
    """Link two leads once (either way)."""
    known = session.execute(
        select(_LINKS.c.id).where(
            _LINKS.c.relation == relation,
            _LINKS.c.ended_at.is_(None),
            or_(
                (_LINKS.c.lead_id == lead_id) & (_LINKS.c.related_id == related_id),
                (_LINKS.c.lead_id == related_id) & (_LINKS.c.related_id == lead_id),
            ),
        )
    ).first()
    if known is None:
        session.execute(
            insert(_LINKS).values(
                lead_id=lead_id, related_id=related_id, relation=relation, created_at=at
            )
        )


def links_of(session: Session, lead_id: str) -> list[LeadLink]:
    """The leads linked to ``lead_id`` (not by a merge), as their surviving ids."""
    rows = session.execute(
        select(_LINKS.c.lead_id, _LINKS.c.related_id, _LINKS.c.relation).where(
            _LINKS.c.relation != MERGED,
            _LINKS.c.ended_at.is_(None),
            or_(_LINKS.c.lead_id == lead_id, _LINKS.c.related_id == lead_id),
        )
    )
    found: dict[str, str] = {}
    for one, other, relation in rows:
        related = _surviving_id(session, other if one == lead_id else one)
        if related is not None and related != lead_id:
            found.setdefault(related, relation)
    return [LeadLink(i, found[i]) for i in sorted(found)]


def _surviving_id(session: Session, lead_id: str) -> str | None:
    for _ in range(16):
        row = session.execute(
            select(_LEADS.c.id, _LEADS.c.merged_into).where(_LEADS.c.id == lead_id)
        ).first()
        if row is None or row.merged_into is None:
            return None if row is None else str(row.id)
        lead_id = row.merged_into
    return None
