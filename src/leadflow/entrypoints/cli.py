"""The ``leadflow`` command line (Typer); diagnostics on stderr, results on stdout or ``-o``.

Exit codes: 0 success; 1 some input rows were rejected (``qualify``; the good rows are still
decided) or the playbook has problems (``playbook check``); 2 usage errors, unreadable files
and playbooks that cannot be loaded.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console

from leadflow import __version__
from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.adapters.records import ColumnMapping, load_mapping
from leadflow.entrypoints.backtest_cli import backtest
from leadflow.entrypoints.common import (
    fail,
    load_playbook_or_exit,
    parse_as_of,
    stderr,
)
from leadflow.entrypoints.demo_cli import demo_data_command
from leadflow.entrypoints.demo_run import demo_command
from leadflow.entrypoints.deployment_cli import per_lead_or_exit, playbook_new
from leadflow.entrypoints.import_cli import export_command, import_command, preset_command
from leadflow.entrypoints.lead_cli import lead_app
from leadflow.entrypoints.model_cli import model_app
from leadflow.entrypoints.qualify_run import QualifyInputs, replacing, run_qualify
from leadflow.entrypoints.report_cli import report_command
from leadflow.entrypoints.reporting import ConsoleReporter, say, summary
from leadflow.entrypoints.routing_cli import assign_command, team_app
from leadflow.entrypoints.show import read_decisions, render
from leadflow.entrypoints.store_cli import apikey_app, audit_app, db_app, requalify, serve
from leadflow.entrypoints.user_cli import user_app
from leadflow.entrypoints.webhook_cli import webhook_app, worker
from leadflow.errors import InputFileError, PlaybookError, PlaybookNotFoundError
from leadflow.samples import copy_samples
from leadflow.services.playbook_doc import render_definitions

ROWS_REJECTED = 1

app = typer.Typer(
    name="leadflow",
    help="Explainable lead qualification for healthcare marketing and sales.",
    no_args_is_help=True,
    add_completion=False,
)
playbook_app = typer.Typer(help="Check, document and list playbooks.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")
playbook_app.command("new")(playbook_new)
app.add_typer(model_app, name="model")
app.command()(backtest)
app.command("import")(import_command)
app.command("export")(export_command)
app.command("preset")(preset_command)
app.command("demo")(demo_command)
app.command("demo-data")(demo_data_command)
app.command()(serve)
app.command()(requalify)
app.command("report")(report_command)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(webhook_app, name="webhook")
app.command("assign")(assign_command)
app.add_typer(team_app, name="team")
app.add_typer(lead_app, name="lead")
app.command()(worker)


def _silence_stdout() -> None:
    """Point stdout at the null device so that the final flush does not fail again."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadflow {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Explainable lead qualification for healthcare marketing and sales."""


@app.command()
def qualify(
    *,
    leads: Annotated[Path, typer.Option(metavar="FILE", help="Leads: .csv or .jsonl.")],
    playbook: Annotated[
        str | None,
        typer.Option(
            metavar="NAME_OR_PATH",
            help="Shipped playbook name or YAML file, for every lead. Default: each lead's "
            "`playbook`, else the one $LEADFLOW_CONFIG's rules choose.",
        ),
    ] = None,
    events: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Events: .csv or .jsonl.")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            metavar="ISO-8601",
            parser=parse_as_of,
            help="Decide as at this instant (no offset = UTC; a date = midnight UTC). "
            "Default: now.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write decisions here, not stdout."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Column mapping (YAML or JSON) for CRM exports."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write every row problem here as JSON Lines."),
    ] = None,
) -> None:
    """Qualify leads: one JSON decision per lead, in input order.

    Exit code 0 when every row was good, 1 when some rows were rejected (the good ones are
    still decided), 2 when the files, options or playbook cannot be used.
    """
    console = stderr()
    try:
        columns = load_mapping(mapping) if mapping is not None else ColumnMapping()
    except InputFileError as exc:
        fail(console, str(exc))
    inputs = QualifyInputs(
        playbook=load_playbook_or_exit(console, playbook)
        if playbook is not None
        else per_lead_or_exit(console),
        leads=leads,
        events=events,
        as_of=as_of or datetime.now(UTC),
        mapping=columns,
    )
    to_file = output is not None and str(output) != "-"
    try:
        with ExitStack() as stack:
            out: TextIO = sys.stdout
            if output is not None and to_file:
                out = stack.enter_context(replacing(output))
            rejected = stack.enter_context(replacing(rejects)) if rejects is not None else None
            reporter = ConsoleReporter(console, rejected)
            with reporter.progress_bar(leads, events, enabled=to_file):
                outcome = run_qualify(inputs, out, reporter)
            reporter.unmatched(outcome)
    except BrokenPipeError:  # whoever read the decisions stopped early (`| head`): fine
        _silence_stdout()
        raise typer.Exit(0) from None
    except (InputFileError, OSError, PlaybookNotFoundError) as exc:
        fail(console, str(exc))
    except PlaybookError as exc:
        for problem in exc.problems:
            say(console, str(problem))
        fail(console, "a playbook a lead names cannot be loaded")
    say(console, summary(outcome))
    if outcome.rejected_rows:
        raise typer.Exit(ROWS_REJECTED)


@app.command()
def sample(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to copy them into.")],
    force: Annotated[bool, typer.Option(help="Overwrite files that differ.")] = False,
) -> None:
    """Copy the bundled sample leads and events (fictional Northwind Health data) to DIR."""
    try:
        written = copy_samples(directory, overwrite=force)
    except (FileExistsError, OSError) as exc:
        fail(stderr(), f"{exc} (use --force to overwrite)")
    for path in written:
        typer.echo(f"wrote {path}")
    leads_file, events_file = written
    typer.echo(
        "next: leadflow qualify --playbook specialty-clinic "
        f"--leads {leads_file} --events {events_file}"
    )


@app.command()
def show(
    decisions: Annotated[
        Path, typer.Argument(metavar="FILE", help="Decisions written by `leadflow qualify`.")
    ],
    lead: Annotated[
        str | None,
        typer.Option("--lead", metavar="LEAD_ID", help="Explain one lead in full."),
    ] = None,
) -> None:
    """Show decisions as a table, or one lead with every reason, its evidence and blockers."""
    try:
        records = list(read_decisions(decisions))
    except InputFileError as exc:
        fail(stderr(), str(exc))
    if not render(Console(), records, lead):
        fail(stderr(), f"lead `{lead}` is not in {decisions}")


@playbook_app.command("check")
def playbook_check(
    name_or_path: Annotated[str, typer.Argument(metavar="PATH_OR_NAME")],
) -> None:
    """Validate a playbook: `ok: ID version VERSION`, or every problem (exit code 1)."""
    try:
        checked = load_playbook(name_or_path)
    except PlaybookNotFoundError as exc:
        fail(stderr(), str(exc))
    except PlaybookError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        raise typer.Exit(1) from None
    typer.echo(f"ok: {checked.id} version {checked.version}")


@playbook_app.command("doc")
def playbook_doc(
    name_or_path: Annotated[str, typer.Argument(metavar="NAME_OR_PATH")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write it here.")
    ] = None,
) -> None:
    """Write the definitions document (Markdown) generated from a playbook's rules."""
    console = stderr()
    text = render_definitions(load_playbook_or_exit(console, name_or_path))
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(console, str(exc))


@playbook_app.command("list")
def playbook_list() -> None:
    """The shipped playbooks: name, version and title."""
    console = stderr()
    rows = []
    for name in shipped_playbooks():
        loaded = load_playbook_or_exit(console, name)
        rows.append((name, loaded.version, loaded.name))
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, version, title in rows:
        typer.echo(f"{name:<{width}}  {version}  {title}")


def main() -> None:
    """The ``leadflow`` console script."""
    app(prog_name="leadflow")


if __name__ == "__main__":
    main()
