"""``leadflow report NAME``: a KPI report over the lead store as a table, CSV or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadflow.entrypoints.common import fail, parse_as_of, stderr
from leadflow.entrypoints.store_cli import DatabaseUrl, open_app
from leadflow.services.reports import DIMENSIONS, REPORTS, Report, ReportFilters, build_report
from leadflow.services.reports import to_csv as report_csv

ReportName = StrEnum("ReportName", {name: name for name in REPORTS})  # type: ignore[misc]
Dimension = StrEnum("Dimension", {name: name for name in DIMENSIONS})  # type: ignore[misc]


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render_table(console: Console, report: Report) -> None:
    """The report as a Rich table, its summary and notes underneath."""
    table = Table(title=report.title)
    for column in report.columns:
        table.add_column(column, justify="left" if column in report.columns[:1] else "right")
    for row in report.rows:
        table.add_row(*(_cell(row[c]) for c in report.columns))
    console.print(table)
    if report.summary and report.name not in ("funnel", "outreach", "nurture"):
        console.print("  ".join(f"{k}: {_cell(v)}" for k, v in report.summary.items()))
    for note in report.notes:
        console.print(f"note: {note}")


def _instant(value: str | None, option: str) -> datetime | None:
    try:
        return parse_as_of(value)
    except typer.BadParameter:
        fail(stderr(), f"{option}: expected an ISO-8601 date-time, e.g. 2026-03-01T00:00:00Z")


def report_command(
    name: Annotated[ReportName, typer.Argument(metavar="NAME", help="Which report.")],
    *,
    by: Annotated[
        Dimension | None,
        typer.Option(metavar="DIM", help="The funnel's grouping (default: channel)."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv (the rows) or json.")
    ] = OutputFormat.TABLE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write it here, not stdout."),
    ] = None,
    created_from: Annotated[
        str | None, typer.Option(metavar="ISO-8601", help="Leads created at or after this.")
    ] = None,
    created_to: Annotated[
        str | None, typer.Option(metavar="ISO-8601", help="Leads created before this.")
    ] = None,
    playbook: Annotated[str | None, typer.Option(metavar="P", help="Only this playbook.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show a KPI report: funnel, acceptance, outreach, disqualifications, channel-quality,
    velocity or nurture (definitions: docs/reports.md)."""
    if by is not None and name.value != "funnel":
        fail(stderr(), "--by applies to the funnel report only")
    filters = ReportFilters(
        _instant(created_from, "--created-from"), _instant(created_to, "--created-to"), playbook
    )
    app = open_app(database_url, migrate=False)
    try:
        with app.db.view() as view:
            facts = view.report_facts(filters, datetime.now(UTC), app.report_reasons())
    finally:
        app.db.dispose()
    report = build_report(name.value, facts, by.value if by is not None else None)
    if output_format is OutputFormat.TABLE:
        if output is None:
            console = Console()
            render_table(console if console.is_terminal else Console(width=200), report)
            return
        with output.open("w", encoding="utf-8") as handle:
            render_table(Console(file=handle, width=200), report)
        return
    text = (
        report_csv(report)
        if output_format is OutputFormat.CSV
        else json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(stderr(), str(exc))
