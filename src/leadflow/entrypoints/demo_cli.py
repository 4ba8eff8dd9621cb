"""``leadflow demo-data``: fill the lead store with a simulated year of Northwind Health leads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leadflow.adapters.db.engine import shown_url
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.common import fail, parse_as_of, stderr
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.store_cli import DatabaseUrl, open_app
from leadflow.services.demo import DemoSummary, simulate
from leadflow.services.demo.simulate import Progress as ProgressCallback
from leadflow.services.routing.sla import run_due

DEFAULT_LEADS = 1500
DEFAULT_SEED = 7


def default_end(now: datetime) -> datetime:
    """The run's now truncated to the hour (UTC)."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def lead_count(app: App) -> int:
    """How many leads the database holds."""
    with app.db.view() as view:
        return view.lead_count()


def demo_lead_count(app: App) -> int:
    """How many leads with demo ids (``demo-L…``) the database holds."""
    with app.db.view() as view:
        return view.lead_count(id_prefix="demo-L")


def fill_demo(
    app: App,
    leads: int,
    seed: int,
    end: datetime | None,
    *,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Simulate ``leads`` leads over the year before ``end`` (default: now, to the hour)
    into ``app``'s database. The caller checks that the database is empty."""
    when = end if end is not None else default_end(app.clock())
    summary = simulate(
        app.db.run,
        app.playbooks,
        leads=leads,
        seed=seed,
        end=when,
        progress=progress,
        scanner=app.scanner,
    )
    # One pass of the worker's SLA checks at the end instant: leads still waiting past
    # their deadlines show their reminders, breaches, escalations and reassignments.
    run_due(app.db.run, app.playbooks, when, 200)
    return summary


def write_truth(summary: DemoSummary, path: Path) -> None:
    """The ground truth as indented JSON."""
    path.write_text(json.dumps(summary.truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def describe(summary: DemoSummary) -> list[str]:
    """The summary lines: leads per playbook, final stages, steps and time taken."""
    playbooks = ", ".join(f"{k} {v}" for k, v in summary.per_playbook.items())
    stages = ", ".join(f"{k} {v}" for k, v in summary.final_stages.items())
    return [
        f"demo data: {summary.leads} leads, {summary.events} events, seed {summary.seed}, "
        f"{summary.start:%Y-%m-%d} → {summary.end:%Y-%m-%d}",
        f"per playbook: {playbooks}",
        f"stages now: {stages}",
        f"took {summary.seconds:.1f} s ({summary.steps} steps)",
    ]


def demo_data_command(
    *,
    leads: Annotated[
        int, typer.Option("--leads", min=1, max=100_000, help="How many leads to simulate.")
    ] = DEFAULT_LEADS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = (
        DEFAULT_SEED
    ),
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            metavar="ISO-8601",
            help="Last instant of the simulated year (default: now, truncated to the hour).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", metavar="FILE.json", help="Write the ground truth here."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add demo leads even if the database has leads.")
    ] = False,
) -> None:
    """Fill the lead store with a simulated year of Northwind Health leads, engagement and
    sales outcomes, with known ground truth (an empty database is created first)."""
    console = stderr()
    when = parse_as_of(end)
    app = open_app(database_url, migrate=True)
    try:
        existing, demo = lead_count(app), demo_lead_count(app)
        where = shown_url(app.settings.database_url)
        if existing and not force:
            fail(
                console,
                f"{where} already holds {existing} leads; demo data goes into an empty "
                "database (pass --force to add it anyway)",
            )
        if demo:
            fail(
                console,
                f"{where} already holds {demo} demo leads: their ids would collide; "
                "fill a fresh database instead",
            )
        bar = Progress(
            TextColumn("Simulating the year"),
            BarColumn(),
            TextColumn("day {task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        with bar:
            task = bar.add_task("days", total=365)
            summary = fill_demo(
                app, leads, seed, when, progress=lambda done, _: bar.update(task, completed=done)
            )
        for line in describe(summary):
            say(console, line)
        if truth is not None:
            write_truth(summary, truth)
            say(console, f"ground truth written to {truth}")
    finally:
        app.db.dispose()
