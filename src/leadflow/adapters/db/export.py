"""Export: one handoff row per surviving lead, with what a rep needs to act on it.

Rows are read in pages of leads (by id), with each page's events in one query; the lead's
profile is its current profile (the first-known one with every ``profile_updated`` applied).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.adapters.db.convert import event_from_row, lead_from_row
from leadflow.adapters.db.tables import DecisionRow, EventRow, LeadRow
from leadflow.domain.events import Event, EventType
from leadflow.services.store.lifecycle import current_profile

PROFILE_COLUMNS = (
    "source",
    "channel",
    "campaign",
    "offer",
    "service_line",
    "lead_type",
    "first_name",
    "last_name",
    "email",
    "phone",
    "organization",
    "role",
    "state",
    "postal_code",
)
EXPORT_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "stage",
    "status",
    "band",
    "fit_score",
    "intent_score",
    "next_action",
    "queue",
    "owner",
    "sla_due_at",
    "playbook",
    "playbook_version",
    *PROFILE_COLUMNS,
    "timeline",
    "no_timeline_reason",
    "decision_path",
    "next_step",
    "downloads",
    "asked",
    "eligibility_to_verify",
    "blockers",
    "reasons",
)
# The blockers that are eligibility items (insurance, referral, intake requirements).
ELIGIBILITY_RULES = frozenset({"sql.eligibility_confirmed"})
REQUEST_TYPES = frozenset(
    {
        EventType.CONSULTATION_REQUESTED,
        EventType.APPOINTMENT_REQUESTED,
        EventType.DEMO_REQUESTED,
        EventType.PRICING_REQUESTED,
        EventType.REFERRAL_SUBMITTED,
    }
)
JOIN = "; "
_PAGE = 500


@dataclass(frozen=True)
class ExportFilters:
    """Which leads to export: any of ``stages`` (all when empty), one playbook or all."""

    stages: tuple[str, ...] = ()
    playbook: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"stages": list(self.stages), "playbook": self.playbook}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _unique(values: Sequence[str]) -> str:
    return JOIN.join(dict.fromkeys(v for v in values if v))


def _latest(discovery: list[Event], name: str) -> str:
    """The answer ``name`` of the latest discovery that gave one (answers add up)."""
    return next((_text(e.prop(name)) for e in reversed(discovery) if e.prop(name)), "")


def _from_events(events: list[Event]) -> dict[str, str]:
    ordered = sorted(events, key=Event.sort_key)
    discovery = [e for e in ordered if e.type is EventType.DISCOVERY_COMPLETED]
    last = discovery[-1] if discovery else None
    return {
        "timeline": _text(last.prop("timeline")) if last else "",
        "no_timeline_reason": _text(last.prop("no_timeline_reason")) if last else "",
        "decision_path": _latest(discovery, "decision_path"),
        "next_step": _latest(discovery, "next_step"),
        "downloads": _unique(
            [_text(e.prop("asset")) for e in ordered if e.type is EventType.CONTENT_DOWNLOADED]
        ),
        "asked": _unique([e.type.value for e in ordered if e.type in REQUEST_TYPES]),
    }


def _row(lead: LeadRow, decision: DecisionRow | None, events: list[Event]) -> dict[str, str]:
    profile = current_profile(lead_from_row(lead), events)
    record: dict[str, Any] = decision.record if decision is not None else {}
    row: dict[str, str] = {
        "lead_id": lead.id,
        "stage": decision.stage if decision else "",
        "status": decision.status if decision else "",
        "band": decision.band if decision else "",
        "fit_score": _text(decision.fit_score) if decision else "",
        "intent_score": _text(decision.intent_score) if decision else "",
        "next_action": _text(record.get("next_action")),
        "queue": _text(decision.queue) if decision else "",
        "owner": _text(decision.owner) if decision else "",
        "sla_due_at": decision.sla_due_at.isoformat()
        if decision is not None and decision.sla_due_at is not None
        else "",
        "playbook": decision.playbook_id if decision else lead.playbook,
        "playbook_version": decision.playbook_version if decision else "",
    }
    row.update({name: _text(getattr(profile, name)) for name in PROFILE_COLUMNS})
    row.update(_from_events(events))
    blockers = record.get("blockers") or []
    row["eligibility_to_verify"] = _unique(
        [_text(b.get("label")) for b in blockers if b.get("rule") in ELIGIBILITY_RULES]
    )
    row["blockers"] = _unique(
        [_text(b.get("label")) for b in blockers if b.get("rule") not in ELIGIBILITY_RULES]
    )
    row["reasons"] = _unique([_text(r.get("label")) for r in record.get("reasons") or []])
    return row


def export_rows(session: Session, filters: ExportFilters) -> Iterator[dict[str, str]]:
    """One row per surviving lead matching ``filters`` (keys: :data:`EXPORT_COLUMNS`), by id."""
    last = ""
    while True:
        query = (
            select(LeadRow, DecisionRow)
            .outerjoin(DecisionRow, DecisionRow.lead_id == LeadRow.id)
            .where(LeadRow.merged_into.is_(None), LeadRow.id > last)
        )
        if filters.stages:
            query = query.where(DecisionRow.stage.in_(filters.stages))
        if filters.playbook is not None:
            query = query.where(LeadRow.playbook == filters.playbook)
        page = session.execute(query.order_by(LeadRow.id).limit(_PAGE)).all()
        if not page:
            return
        ids = [lead.id for lead, _ in page]
        events: dict[str, list[Event]] = {lead_id: [] for lead_id in ids}
        for event_row in session.scalars(
            select(EventRow).where(EventRow.lead_id.in_(ids)).order_by(EventRow.seq)
        ):
            events[event_row.lead_id].append(event_from_row(event_row))
        for lead, decision in page:
            yield _row(lead, decision, events[lead.id])
        session.expunge_all()
        last = ids[-1]
