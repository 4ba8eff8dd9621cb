"""Read what the KPI reports need from the store, in a few portable Core queries.

Five queries, each limited to the surviving leads (``merged_into`` is null) that the
filters select: the leads with their first-known dimensions (JSON fields read with
``as_string()``, which SQLite and PostgreSQL both translate), their stage history, the
events of the types the reports use, their current decisions and their SLA clocks. Grouping,
ordering within a lead and every KPI are computed in Python
(:mod:`leadflow.services.reports`), so the numbers are the same on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import (
    DecisionRow,
    EventRow,
    LeadRow,
    SlaClockRow,
    StageChangeRow,
)
from leadflow.domain.events import ENGAGEMENT_TYPES
from leadflow.domain.reasons import REASON_EVENTS
from leadflow.services.reports import (
    ClockFact,
    DecisionFact,
    EventFact,
    LeadFact,
    ReportFacts,
    ReportFilters,
    StageEntry,
)
from leadflow.services.reports.reasons import ReasonReader

PROFILE_DIMENSIONS = ("source", "channel", "campaign", "offer", "service_line", "lead_type")
EVENT_TYPES = frozenset(
    {
        "sales_accepted",
        "sales_rejected",
        "outreach_logged",
        "disqualified",
        "closed_lost",
        *(t.value for t in ENGAGEMENT_TYPES),
    }
)


REASON_TYPES = frozenset(t.value for t in REASON_EVENTS)

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _leads_selected(query: _Query, filters: ReportFilters) -> _Query:
    query = query.where(LeadRow.merged_into.is_(None))
    if filters.playbook is not None:
        query = query.where(LeadRow.playbook == filters.playbook)
    if filters.created_from is not None:
        query = query.where(LeadRow.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(LeadRow.created_at < filters.created_to)
    return query


def _month(created_at: datetime) -> str:
    return created_at.strftime("%Y-%m")


def read_report_facts(
    session: Session, filters: ReportFilters, as_of: datetime, reasons: ReasonReader
) -> ReportFacts:
    """Every selected lead with its dimensions, history, relevant events and decision; the
    reasons go through ``reasons``: a code of the lead's playbook with its label, or text
    scanned as free text (reports are aggregates every role reads)."""
    dims = [LeadRow.profile[name].as_string().label(name) for name in PROFILE_DIMENSIONS]
    leads: dict[str, LeadFact] = {}
    rows = session.execute(
        _leads_selected(
            select(LeadRow.id, LeadRow.created_at, LeadRow.playbook, *dims), filters
        ).order_by(LeadRow.created_at, LeadRow.id)
    )
    for row in rows:
        values = {name: getattr(row, name) for name in PROFILE_DIMENSIONS}
        dimensions = {k: str(v) for k, v in values.items() if v not in (None, "")}
        dimensions["month"] = _month(row.created_at)
        leads[row.id] = LeadFact(row.id, row.created_at, dimensions, playbook=row.playbook)

    history = _leads_selected(
        select(
            StageChangeRow.lead_id,
            StageChangeRow.from_stage,
            StageChangeRow.to_stage,
            StageChangeRow.changed_at,
        ).join(LeadRow, LeadRow.id == StageChangeRow.lead_id),
        filters,
    ).order_by(StageChangeRow.lead_id, StageChangeRow.changed_at, StageChangeRow.id)
    for lead_id, before, after, at in session.execute(history):
        leads[lead_id].history.append(StageEntry(before, after, at))

    events = _leads_selected(
        select(
            EventRow.lead_id,
            EventRow.type,
            EventRow.occurred_at,
            EventRow.properties["reason"].as_string(),
        )
        .join(LeadRow, LeadRow.id == EventRow.lead_id)
        .where(EventRow.type.in_(sorted(EVENT_TYPES))),
        filters,
    ).order_by(EventRow.lead_id, EventRow.occurred_at, EventRow.seq)
    for lead_id, kind, occurred_at, reason in session.execute(events):
        lead = leads[lead_id]
        why = reasons.read(lead.playbook, reason) if kind in REASON_TYPES else None
        lead.events.append(EventFact(kind, occurred_at, why))

    decisions = _leads_selected(
        select(
            DecisionRow.lead_id,
            DecisionRow.stage,
            DecisionRow.sla_due_at,
            DecisionRow.record["disqualification_reason"].as_string(),
        ).join(LeadRow, LeadRow.id == DecisionRow.lead_id),
        filters,
    )
    for lead_id, stage, due, reason in session.execute(decisions):
        why = None if reason is None else reasons.read(leads[lead_id].playbook, reason)
        leads[lead_id].decision = DecisionFact(stage, due, why)

    clocks = _leads_selected(
        select(
            SlaClockRow.lead_id,
            SlaClockRow.stage,
            SlaClockRow.started_at,
            SlaClockRow.due_at,
            SlaClockRow.stopped_at,
            SlaClockRow.breached_at,
            SlaClockRow.closed_at,
            SlaClockRow.closed_reason,
            SlaClockRow.purpose,
        ).join(LeadRow, LeadRow.id == SlaClockRow.lead_id),
        filters,
    ).order_by(SlaClockRow.lead_id, SlaClockRow.started_at, SlaClockRow.id)
    for row in session.execute(clocks):
        leads[row.lead_id].clocks.append(
            ClockFact(
                row.stage,
                row.started_at,
                row.due_at,
                row.stopped_at,
                row.breached_at,
                row.closed_at,
                row.closed_reason,
                row.purpose or "first_outreach",
            )
        )
    return ReportFacts(list(leads.values()), as_of, filters, tuple(reasons.problems))
