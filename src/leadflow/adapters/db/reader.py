"""Read side of the store: one lead with everything about it, and filtered pages of leads."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session

from leadflow.adapters.db.chunks import in_chunks
from leadflow.adapters.db.convert import (
    consent_from_row,
    event_from_row,
    lead_from_row,
    profile_from_json,
    profile_to_json,
)
from leadflow.adapters.db.decision_queue import SqlDecisionQueue
from leadflow.adapters.db.lead_links import links_of
from leadflow.adapters.db.tables import (
    AssignmentRow,
    ConsentRow,
    DecisionRow,
    EventRow,
    LeadRouteRow,
    LeadRow,
    MemberAbsenceRow,
    SlaClockRow,
    StageChangeRow,
)
from leadflow.adapters.playbook_yaml import shipped_playbooks
from leadflow.domain.free_text import free_properties
from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError
from leadflow.services.redaction import (
    Identity,
    TextScanner,
    profile_free_text,
    shown,
    shown_view,
)
from leadflow.services.reports.facts import ClockFact
from leadflow.services.store.consent import active_consent
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import StoredLead
from leadflow.services.store.sales import allowed_actions


class BadCursorError(ValueError):
    """A ``cursor`` that this server did not hand out."""


@dataclass(frozen=True)
class LeadFilters:
    stage: str | None = None
    playbook: str | None = None
    band: str | None = None
    owner: str | None = None
    source: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _surviving(session: Session, lead_id: str) -> LeadRow | None:
    row = session.get(LeadRow, lead_id)
    for _ in range(16):
        if row is None or row.merged_into is None:
            return row
        row = session.get(LeadRow, row.merged_into)
    return row


def _redacted_inputs(
    row: LeadRow, event_rows: list[EventRow], scanner: TextScanner, identity: Identity
) -> tuple[StoredLead, dict[int, dict[str, Any]]]:
    """The lead's first profile and each event's properties with their free text as a role
    below intake sees it (the copy redacted at ingest, scanned again)."""
    first = lead_from_row(row).profile
    profile = dict(row.profile)
    for name, text in shown(profile_free_text(first), row.redacted, scanner, identity).items():
        if name.startswith("custom."):
            profile.setdefault("custom", {})
            profile["custom"] = {**profile["custom"], name.removeprefix("custom."): text}
        else:
            profile[name] = text
    twin = replace(lead_from_row(row), profile=profile_from_json(row.id, profile))
    properties = {}
    for e in event_rows:
        free = free_properties(e.type, e.properties or {})
        properties[e.seq] = {
            **(e.properties or {}),
            **shown(free, e.redacted, scanner, identity),
        }
    return twin, properties


def lead_and_aliases(session: Session, lead_id: str) -> list[str] | None:
    """The surviving lead's id followed by the ids merged into it (``None``: no such lead)."""
    row = _surviving(session, lead_id)
    if row is None:
        return None
    aliases = session.scalars(select(LeadRow.id).where(LeadRow.merged_into == row.id)).all()
    return [row.id, *sorted(aliases)]


def lead_view(
    session: Session, lead_id: str, scanner: TextScanner | None = None
) -> dict[str, Any] | None:
    """The lead (following merges): profile, decision, timeline, history, consents.

    With a ``scanner``, every free-text value (notes, custom fields, free-text event
    properties, manual assignment reasons) is shown redacted, as roles below intake see it.
    """
    row = _surviving(session, lead_id)
    if row is None:
        return None
    stored = lead_from_row(row)
    event_rows = list(
        session.scalars(select(EventRow).where(EventRow.lead_id == row.id).order_by(EventRow.seq))
    )
    raw_profile = profile = current_profile(stored, [event_from_row(e) for e in event_rows])
    properties = {e.seq: e.properties for e in event_rows}
    if scanner is not None:
        identity = Identity.of(stored.profile, profile)
        twin, properties = _redacted_inputs(row, event_rows, scanner, identity)
        shown_events = [event_from_row(e, properties[e.seq]) for e in event_rows]
        profile = current_profile(twin, shown_events)
    decision = session.get(DecisionRow, row.id)
    consents = [
        consent_from_row(c)
        for c in session.scalars(
            select(ConsentRow).where(ConsentRow.lead_id == row.id).order_by(ConsentRow.id)
        )
    ]
    history = session.scalars(
        select(StageChangeRow).where(StageChangeRow.lead_id == row.id).order_by(StageChangeRow.id)
    )
    aliases = session.scalars(select(LeadRow.id).where(LeadRow.merged_into == row.id)).all()
    stage = Stage(decision.stage) if decision is not None else Stage.NEW
    timeline = sorted(event_rows, key=lambda e: (e.occurred_at, e.event_id))
    view = {
        "lead_id": row.id,
        "aliases": sorted(aliases),
        "related": [
            {"lead_id": link.lead_id, "relation": link.relation}
            for link in links_of(session, row.id)
        ],
        "playbook": row.playbook,
        "created_at": row.created_at,
        "profile": profile_to_json(profile),
        "decision": decision.record if decision is not None else None,
        "decision_pending": SqlDecisionQueue(session).is_pending(row.id),
        "allowed_actions": allowed_actions(stage),
        "timeline": [
            {
                "event_id": e.event_id,
                "type": e.type,
                "occurred_at": e.occurred_at,
                "recorded_at": e.recorded_at,
                "properties": properties[e.seq],
                "source": e.source,
                "actor": e.actor,
            }
            for e in timeline
        ],
        "stage_history": [
            {
                "from_stage": h.from_stage,
                "to_stage": h.to_stage,
                "status": h.status,
                "reasons": h.reasons,
                "playbook": {"id": h.playbook_id, "version": h.playbook_version},
                "changed_at": h.changed_at,
                "actor": h.actor,
                "event_id": h.event_id,
            }
            for h in history
        ],
        "consents": [
            {
                **c.__dict__,
                "active": c.status == "granted"
                and c is _latest(consents, c.channel, c.contact_point)
                and active_consent(consents, c.channel, c.contact_point),
            }
            for c in consents
        ],
        "assignments": assignment_history(session, row.id),
        "sla": sla_clocks(session, row.id),
        "free_text": "raw" if scanner is None else "redacted",
    }
    if scanner is None:
        return view
    return shown_view(view, scanner, Identity.of(stored.profile, raw_profile))


def assignment_history(session: Session, lead_id: str) -> list[dict[str, Any]]:
    """Each change of the lead's owner, oldest first: when, from whom to whom, why, by whom."""
    rows = session.scalars(
        select(AssignmentRow).where(AssignmentRow.lead_id == lead_id).order_by(AssignmentRow.id)
    )
    return [
        {
            "at": a.at,
            "queue": a.queue,
            "team": a.team_id,
            "from_owner": a.from_owner,
            "to_owner": a.to_owner,
            "reason": a.reason,
            "actor": a.actor,
        }
        for a in rows
    ]


FIRST = "first_outreach"  # the purpose of clocks stored before purposes existed
SLA_FIELDS = (
    "stage",
    "queue",
    "owner",
    "sla",
    "started_at",
    "due_at",
    "reminded_at",
    "breached_at",
    "escalated_to",
    "reassigned_at",
    "stopped_at",
    "closed_at",
    "closed_reason",
    "purpose",
)


def sla_clocks(session: Session, lead_id: str) -> list[dict[str, Any]]:
    """The lead's SLA clocks, oldest first (the running one has neither ``stopped_at`` nor
    ``closed_reason``); ``purpose`` says what each was for (first outreach for clocks
    stored before purposes existed)."""
    rows = session.scalars(
        select(SlaClockRow).where(SlaClockRow.lead_id == lead_id).order_by(SlaClockRow.id)
    )
    return [
        {name: getattr(c, name) for name in SLA_FIELDS} | {"purpose": c.purpose or FIRST}
        for c in rows
    ]


def open_route(session: Session, lead_id: str) -> dict[str, Any] | None:
    """The lead's route while a routed stage holds it: playbook, queue, team and owner."""
    row = session.get(LeadRouteRow, lead_id)
    if row is None or not row.open:
        return None
    return {
        "playbook": row.playbook_id,
        "queue": row.queue,
        "team": row.team_id,
        "owner": row.owner,
    }


def open_loads(session: Session) -> dict[tuple[str, str], int]:
    """Open leads held by each (team, member)."""
    query = (
        select(LeadRouteRow.team_id, LeadRouteRow.owner, func.count())
        .where(
            LeadRouteRow.open.is_(True),
            LeadRouteRow.team_id.is_not(None),
            LeadRouteRow.owner.is_not(None),
        )
        .group_by(LeadRouteRow.team_id, LeadRouteRow.owner)
    )
    return {(str(team), str(owner)): int(n) for team, owner, n in session.execute(query)}


def away_until(session: Session, at: datetime) -> dict[str, datetime]:
    """Members out of office at ``at``, with the end of their (latest) absence."""
    query = (
        select(MemberAbsenceRow.member_id, func.max(MemberAbsenceRow.ends_at))
        .where(MemberAbsenceRow.starts_at <= at, MemberAbsenceRow.ends_at > at)
        .group_by(MemberAbsenceRow.member_id)
    )
    return {str(member): until for member, until in session.execute(query)}


def absences_of(session: Session, member_id: str) -> list[dict[str, Any]]:
    """The member's absences, by start."""
    rows = session.scalars(
        select(MemberAbsenceRow)
        .where(MemberAbsenceRow.member_id == member_id)
        .order_by(MemberAbsenceRow.starts_at, MemberAbsenceRow.id)
    )
    return [
        {
            "id": a.id,
            "member_id": a.member_id,
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "note": a.note,
            "created_by": a.created_by,
            "created_at": a.created_at,
        }
        for a in rows
    ]


def playbooks_in_use(session: Session, load: Callable[[str], Playbook]) -> list[Playbook]:
    """The shipped playbooks and any other the stored leads were posted under, once each,
    loaded by ``load`` (a playbook file that no longer loads is left out)."""
    used = sorted(session.scalars(select(LeadRow.playbook).distinct()))
    found: dict[str, Playbook] = {}
    for name in [*shipped_playbooks(), *used]:
        try:
            playbook = load(name)
        except LeadflowError:
            continue
        found.setdefault(playbook.id, playbook)
    return list(found.values())


def _latest(consents: list[Any], channel: str, point: str | None) -> Any:
    found = [c for c in consents if c.channel == channel and c.contact_point == point]
    return found[-1] if found else None


def encode_cursor(created_at: datetime, lead_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), lead_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, lead_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(when), str(lead_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursorError("not a cursor from this server; start again without one") from exc


def _filtered(query: Select[LeadRow, DecisionRow], f: LeadFilters) -> Select[LeadRow, DecisionRow]:
    if f.stage is not None:
        query = query.where(DecisionRow.stage == f.stage)
    if f.playbook is not None:
        query = query.where(LeadRow.playbook == f.playbook)
    if f.band is not None:
        query = query.where(DecisionRow.band == f.band)
    if f.owner is not None:
        query = query.where(DecisionRow.owner == f.owner)
    if f.source is not None:
        query = query.where(LeadRow.source == f.source)
    if f.created_from is not None:
        query = query.where(LeadRow.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(LeadRow.created_at < f.created_to)
    return query


def list_leads(
    session: Session, filters: LeadFilters, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of surviving leads, newest first, and the cursor of the next page."""
    query = (
        select(LeadRow, DecisionRow)
        .outerjoin(DecisionRow, DecisionRow.lead_id == LeadRow.id)
        .where(LeadRow.merged_into.is_(None))
    )
    query = _filtered(query, filters)
    if cursor is not None:
        when, lead_id = decode_cursor(cursor)
        query = query.where(tuple_(LeadRow.created_at, LeadRow.id) < tuple_(when, lead_id))
    rows = session.execute(
        query.order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit + 1)
    ).all()
    items = [
        {
            "lead_id": lead.id,
            "playbook": lead.playbook,
            "lead_type": lead.lead_type,
            "source": lead.source,
            "created_at": lead.created_at,
            "stage": d.stage if d else None,
            "status": d.status if d else None,
            "band": d.band if d else None,
            "fit_score": d.fit_score if d else None,
            "intent_score": d.intent_score if d else None,
            "owner": d.owner if d else None,
            "queue": d.queue if d else None,
            "sla_due_at": d.sla_due_at if d else None,
        }
        for lead, d in rows[:limit]
    ]
    more = len(rows) > limit
    last = rows[limit - 1][0] if more else None
    return items, encode_cursor(last.created_at, last.id) if last is not None else None


def display_name(profile: dict[str, Any], lead_id: str) -> str:
    """How a person or organisation is shown in lists: name, else organisation, else id."""
    name = " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
    return name or str(profile.get("organization") or lead_id)


def stage_counts(session: Session, playbook: str | None = None) -> dict[str, int]:
    """Surviving leads per current stage."""
    query = (
        select(DecisionRow.stage, func.count())
        .join(LeadRow, LeadRow.id == DecisionRow.lead_id)
        .where(LeadRow.merged_into.is_(None))
        .group_by(DecisionRow.stage)
    )
    if playbook is not None:
        query = query.where(LeadRow.playbook == playbook)
    return {str(stage): int(count) for stage, count in session.execute(query)}


def names_of(session: Session, lead_ids: list[str]) -> dict[str, str]:
    """Display names of leads (for lists)."""
    if not lead_ids:
        return {}
    rows = session.execute(select(LeadRow.id, LeadRow.profile).where(LeadRow.id.in_(lead_ids)))
    return {lead_id: display_name(profile or {}, lead_id) for lead_id, profile in rows}


WORKED_STAGES = ("mql", "sales_accepted", "sql", "opportunity")


def work_queue(
    session: Session, owner: str | None = None, queue: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Leads that need a person: MQL to opportunity, oldest stage entry first."""
    entered = (
        select(StageChangeRow.lead_id, func.max(StageChangeRow.changed_at).label("since"))
        .group_by(StageChangeRow.lead_id)
        .subquery()
    )
    query = (
        select(LeadRow.id, LeadRow.profile, DecisionRow, entered.c.since)
        .join(DecisionRow, DecisionRow.lead_id == LeadRow.id)
        .join(entered, entered.c.lead_id == LeadRow.id)
        .where(LeadRow.merged_into.is_(None), DecisionRow.stage.in_(WORKED_STAGES))
    )
    if owner is not None:
        query = query.where(DecisionRow.owner == owner)
    if queue is not None:
        query = query.where(DecisionRow.queue == queue)
    rows = session.execute(query.order_by(entered.c.since, LeadRow.id).limit(limit)).all()
    clocks = _clock_facts(session, [lead_id for lead_id, *_ in rows])
    return [
        {
            "lead_id": lead_id,
            "name": display_name(profile or {}, lead_id),
            "stage": d.stage,
            "status": d.status,
            "band": d.band,
            "queue": d.queue,
            "owner": d.owner,
            "sla_due_at": d.sla_due_at,
            "next_action": d.record.get("next_action"),
            "since": since,
            "clocks": clocks.get(lead_id, []),
        }
        for lead_id, profile, d, since in rows
    ]


def _clock_facts(session: Session, lead_ids: list[str]) -> dict[str, list[ClockFact]]:
    """The leads' SLA clocks, oldest first (what "overdue" is judged from)."""
    found: dict[str, list[ClockFact]] = {}
    for chunk in in_chunks(lead_ids):
        query = select(SlaClockRow).where(SlaClockRow.lead_id.in_(chunk)).order_by(SlaClockRow.id)
        for c in session.scalars(query):
            found.setdefault(c.lead_id, []).append(
                ClockFact(
                    c.stage,
                    c.started_at,
                    c.due_at,
                    c.stopped_at,
                    c.breached_at,
                    c.closed_at,
                    c.closed_reason,
                    c.purpose or FIRST,
                )
            )
    return found
