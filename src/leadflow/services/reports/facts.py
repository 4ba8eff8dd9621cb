"""What the reports read from the store, as plain values (the adapter fills these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leadflow.services.reports.reasons import ReasonFact

# The funnel, in order; a lead "reached" a stage when it ever entered it or a later one.
FUNNEL_STAGES: tuple[str, ...] = ("mql", "sales_accepted", "sql", "opportunity", "won")
# Dimensions of the funnel report; `month` is the lead's creation month (UTC, YYYY-MM).
DIMENSIONS: tuple[str, ...] = (
    "source",
    "channel",
    "campaign",
    "offer",
    "service_line",
    "lead_type",
    "month",
)
NONE_LABEL = "(none)"
ALL_LABEL = "(all)"


@dataclass(frozen=True)
class ReportFilters:
    """Which leads a report covers: created in ``[created_from, created_to)``, one playbook."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    playbook: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            "playbook": self.playbook,
        }


@dataclass(frozen=True)
class StageEntry:
    """One ``stage_history`` row: the lead entered ``to_stage`` at ``changed_at``."""

    from_stage: str | None
    to_stage: str
    changed_at: datetime


@dataclass(frozen=True)
class EventFact:
    """One event of a type the reports use; ``reason``: its ``properties.reason`` as a code
    of the lead's playbook (for rejections, disqualifications and losses)."""

    type: str
    occurred_at: datetime
    reason: ReasonFact | None = None


@dataclass(frozen=True)
class DecisionFact:
    """The lead's current decision: what the reports need of it."""

    stage: str
    sla_due_at: datetime | None
    disqualification_reason: ReasonFact | None


@dataclass(frozen=True)
class ClockFact:
    """One SLA clock (``sla_clocks``): what it was for, when it started, was due, and ended."""

    stage: str
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None
    breached_at: datetime | None
    closed_at: datetime | None
    closed_reason: str | None
    purpose: str = "first_outreach"  # what the clock was for (``domain/purposes.py``)


@dataclass
class LeadFact:
    """One surviving lead with its first-known dimensions, history, events and decision.

    ``history`` and ``events`` are in the order they happened (time, then insertion order)."""

    lead_id: str
    created_at: datetime
    dimensions: dict[str, str]
    history: list[StageEntry] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    decision: DecisionFact | None = None
    clocks: list[ClockFact] = field(default_factory=list)
    playbook: str = ""

    def first_entry(self, stage: str) -> datetime | None:
        return next((h.changed_at for h in self.history if h.to_stage == stage), None)

    def reached(self, stage: str) -> bool:
        """Whether the lead ever entered ``stage`` or any later funnel stage."""
        later = set(FUNNEL_STAGES[FUNNEL_STAGES.index(stage) :])
        return any(h.to_stage in later for h in self.history)

    def events_of(self, *types: str) -> list[EventFact]:
        return [e for e in self.events if e.type in types]


@dataclass(frozen=True)
class ReportFacts:
    """Every lead a report covers, and the instant the report is made at; ``notes``: what
    the reports reading reasons must say (a playbook that could not be loaded)."""

    leads: list[LeadFact]
    as_of: datetime
    filters: ReportFilters
    notes: tuple[str, ...] = ()
