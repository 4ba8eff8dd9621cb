"""A report's one shape, for JSON, CSV and tables: summary, rows and notes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.services.reports.facts import ReportFilters

Cell = str | int | float | None


@dataclass(frozen=True)
class Report:
    """One computed report. ``rows`` all have ``columns`` as keys, in that order."""

    name: str
    title: str
    as_of: datetime
    filters: ReportFilters
    columns: tuple[str, ...]
    rows: list[dict[str, Cell]]
    summary: dict[str, Cell] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "by": self.by,
            "as_of": self.as_of.isoformat(),
            "filters": self.filters.to_json(),
            "summary": self.summary,
            "columns": list(self.columns),
            "rows": self.rows,
            "notes": self.notes,
        }


def to_csv(report: Report) -> str:
    """The report's rows as CSV with a header row (an empty cell for a missing value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow(["" if row[c] is None else row[c] for c in report.columns])
    return out.getvalue()
