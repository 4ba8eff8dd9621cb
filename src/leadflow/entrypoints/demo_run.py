"""``leadflow demo``: a demo database full of a realistic year, and the dashboard over it."""

from __future__ import annotations

from typing import Annotated

import typer

from leadflow.adapters.db.engine import shown_url
from leadflow.entrypoints.common import stderr
from leadflow.entrypoints.demo_accounts import accounts_file, ensure_demo_accounts, sign_in_lines
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.store_cli import open_app, serve_app

DEMO_URL = "sqlite:///leadflow-demo.db"


def demo_command(
    *,
    database_url: Annotated[
        str, typer.Option("--database-url", metavar="URL", help="Where the demo data lives.")
    ] = DEMO_URL,
    leads: Annotated[int, typer.Option(min=10, max=100_000, help="Leads in a new demo.")] = 1500,
    seed: Annotated[int, typer.Option(help="Seed of the demo data (same seed, same data).")] = 7,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Fill the database, then exit.")
    ] = False,
) -> None:
    """Fill a demo database with a year of Northwind Health leads (once), create one account
    per role (their passwords are printed), then serve the dashboard and the API at
    http://HOST:PORT."""
    from leadflow.entrypoints.demo_cli import describe, fill_demo  # noqa: PLC0415

    console = stderr()
    app = open_app(database_url, migrate=True)
    with app.db.view() as view:
        existing = view.lead_count()
    if existing:
        say(console, f"{shown_url(database_url)} already holds {existing} leads; using them")
    else:
        say(console, f"filling {shown_url(database_url)} with {leads} demo leads (seed {seed})…")
        summary = fill_demo(app, leads, seed, None)
        for line in describe(summary):
            say(console, line)
    path = accounts_file(database_url)
    accounts = ensure_demo_accounts(app, path)
    if no_serve:
        app.db.dispose()
        return
    say(console, f"dashboard: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    for line in sign_in_lines(f"http://{host}:{port}", accounts, path):
        say(console, line)
    serve_app(app, host, port, "warning")
