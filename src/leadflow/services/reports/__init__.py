"""KPI reports over the lead store: pure shaping and percentile maths (standard library only).

The database adapter (``leadflow.adapters.db.reports``) reads plain :mod:`.facts`; the
functions in :mod:`.kpis` turn them into :class:`~.shape.Report` values that the API and the
CLI render as JSON, CSV or a table. Every definition is written out in docs/reports.md.
"""

from __future__ import annotations

from leadflow.services.reports.facts import (
    DIMENSIONS,
    FUNNEL_STAGES,
    ClockFact,
    DecisionFact,
    EventFact,
    LeadFact,
    ReportFacts,
    ReportFilters,
    StageEntry,
)
from leadflow.services.reports.kpis import REPORTS, build_report
from leadflow.services.reports.shape import Report, to_csv
from leadflow.services.reports.stats import median, p90

__all__ = [
    "DIMENSIONS",
    "FUNNEL_STAGES",
    "REPORTS",
    "ClockFact",
    "DecisionFact",
    "EventFact",
    "LeadFact",
    "Report",
    "ReportFacts",
    "ReportFilters",
    "StageEntry",
    "build_report",
    "median",
    "p90",
    "to_csv",
]
