"""``leadflow backtest``: replay history under a playbook and report how it would have done.

Reads leads and events with the same readers and row reporting as ``qualify`` (bad rows on
stderr, the good ones used), runs :func:`leadflow.services.backtest.run_backtest`, and
writes Markdown (default), JSON, or an HTML page with PNG charts.

Exit codes: 0 success; 1 some rows were rejected (the report covers the good ones); 2 usage
errors (a bad ``--outcome``, ``--sweep`` or ``--capacity``, ``--format html`` without
``-o DIR``), unreadable files and playbooks that cannot be loaded.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadflow.adapters.records import ColumnMapping, load_mapping, read_events, read_leads
from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.common import fail, load_playbook_or_exit, parse_as_of
from leadflow.entrypoints.qualify_run import (
    QualifyOutcome,
    Tally,
    cycle_collector_paused,
    replacing,
)
from leadflow.entrypoints.reporting import ConsoleReporter, say
from leadflow.errors import LeadflowError
from leadflow.services.backtest import (
    BacktestInputError,
    BacktestRequest,
    BacktestResult,
    parse_capacity,
    parse_outcome,
    parse_sweep,
    render_json,
    render_markdown,
)
from leadflow.services.backtest import run_backtest as backtest_history
from leadflow.services.qualification import group_by_lead, unmatched_events

ROWS_REJECTED = 1
USAGE_ERROR = 2


class ReportFormat(StrEnum):
    """What ``--format`` accepts."""

    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"


def _request(
    console: Console,
    *,
    playbook: str,
    outcome: str,
    as_of: str | None,
    sweep: str | None,
    capacity: str | None,
    compare: str | None,
) -> BacktestRequest:
    try:
        return BacktestRequest(
            playbook=load_playbook_or_exit(console, playbook),
            outcome=parse_outcome(outcome),
            as_of=parse_as_of(as_of),
            sweep=parse_sweep(sweep) if sweep is not None else None,
            capacity=parse_capacity(capacity) if capacity is not None else None,
            compare=load_playbook_or_exit(console, compare) if compare else None,
        )
    except BacktestInputError as exc:
        fail(console, str(exc))


def read_history(
    leads: Path, events: Path, mapping: ColumnMapping, tally: Tally
) -> tuple[list[LeadProfile], list[Event]]:
    """The good leads and events; every bad row goes to ``tally``'s reporter."""
    good_events = list(tally.keep(read_events(events, mapping.events), Event))
    good_leads = list(tally.keep(read_leads(leads, mapping.leads), LeadProfile))
    return good_leads, good_events


def _html_folder(form: ReportFormat, output: Path | None) -> Path | None:
    """The folder for ``--format html`` (a usage error without ``-o``), else ``None``."""
    if form is not ReportFormat.HTML:
        return None
    if output is None:
        raise typer.BadParameter("--format html needs -o DIR", param_hint="--output")
    return output


def _write(result: BacktestResult, form: ReportFormat, output: Path | None) -> None:
    folder = _html_folder(form, output)
    if folder is not None:
        # Imported here so that only an HTML report pays for loading matplotlib.
        from leadflow.adapters.reports import write_html_report  # noqa: PLC0415

        write_html_report(result, folder)
        return
    text = render_json(result) if form is ReportFormat.JSON else render_markdown(result)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    with replacing(output) as handle:
        handle.write(text)


def backtest(
    *,
    playbook: Annotated[
        str, typer.Option(metavar="NAME_OR_PATH", help="Shipped playbook name or YAML file.")
    ],
    leads: Annotated[Path, typer.Option(metavar="FILE", help="Leads: .csv or .jsonl.")],
    events: Annotated[Path, typer.Option(metavar="FILE", help="Events: .csv or .jsonl.")],
    outcome: Annotated[
        str,
        typer.Option(
            metavar="sql|won|COLUMN",
            help="sql: sales history reached SQL; won: a closed_won event; any other word: "
            "a lead column whose value is 1/true/yes/won/converted.",
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option(metavar="ISO-8601", help="End of the history. Default: the last event."),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            metavar="mql.fit=A:B:S,mql.intent=C:D:S", help="Try every MQL threshold pair."
        ),
    ] = None,
    capacity: Annotated[
        str | None,
        typer.Option(metavar="N/week", help="MQLs per week sales can work (for --sweep)."),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(metavar="NAME_OR_PATH", help="Another playbook to compare with."),
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="markdown, json, or html (needs -o DIR).")
    ] = ReportFormat.MARKDOWN,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="PATH", help="File (or folder for html)."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Column mapping (YAML or JSON) for CRM exports."),
    ] = None,
) -> None:
    """Replay historical leads under a playbook: volume, precision, recall, lift and time to
    outcome per stage and band; optionally sweep MQL thresholds or compare two playbooks."""
    console = Console(stderr=True)
    _html_folder(report_format, output)  # fail before the work, not after
    request = _request(
        console,
        playbook=playbook,
        outcome=outcome,
        as_of=as_of,
        sweep=sweep,
        capacity=capacity,
        compare=compare,
    )
    reporter = ConsoleReporter(console, None)
    tally = Tally(reporter)
    try:
        with cycle_collector_paused():
            columns = load_mapping(mapping) if mapping is not None else ColumnMapping()
            good_leads, good_events = read_history(leads, events, columns, tally)
            started = time.perf_counter()
            result = backtest_history(request, good_leads, good_events)
            seconds = time.perf_counter() - started
        _write(result, report_format, output)
    except (LeadflowError, OSError) as exc:
        say(console, f"error: {exc}")
        raise typer.Exit(USAGE_ERROR) from None
    reporter.unmatched(
        QualifyOutcome(
            stage_counts=Counter(),
            rejected_rows=tally.rejected_rows,
            warnings=tally.warnings,
            unmatched=unmatched_events(
                group_by_lead(good_events), {lead.lead_id for lead in good_leads}
            ),
            events_source=events.name,
        )
    )
    rate = len(good_leads) / seconds if seconds > 0 else float("inf")
    say(
        console,
        f"backtest: {len(good_leads)} leads, {len(good_events)} events, "
        f"{result.totals.n_outcomes} reached {result.outcome.label}; replayed in "
        f"{seconds:.2f} s ({rate:,.0f} leads/s); rejected rows: {tally.rejected_rows}",
    )
    if tally.rejected_rows:
        raise typer.Exit(ROWS_REJECTED)
