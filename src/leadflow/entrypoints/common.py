"""What every ``leadflow`` command shares: the usage-error exit, playbook loading, ``--as-of``."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

import typer
from rich.console import Console

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records.values import parse_datetime
from leadflow.domain.playbook import Playbook
from leadflow.entrypoints.reporting import say
from leadflow.errors import ConfigError, PlaybookError, PlaybookNotFoundError

USAGE_ERROR = 2


def stderr() -> Console:
    """The console for diagnostics."""
    return Console(stderr=True)


def fail(console: Console, message: str) -> NoReturn:
    """Print ``error: message`` and exit with the usage-error code."""
    say(console, f"error: {message}")
    raise typer.Exit(USAGE_ERROR)


def load_playbook_or_exit(console: Console, name_or_path: str) -> Playbook:
    """The playbook, or every problem printed and the usage-error exit."""
    try:
        return load_playbook(name_or_path)
    except PlaybookNotFoundError as exc:
        fail(console, str(exc))
    except PlaybookError as exc:
        for problem in exc.problems:
            say(console, str(problem))
        count = len(exc.problems)
        fail(console, f"{name_or_path}: {count} playbook problem{'s' if count != 1 else ''}")


def config_failed(console: Console, exc: ConfigError) -> NoReturn:
    """Every problem of the deployment file printed, then the usage-error exit."""
    for problem in exc.problems:
        say(console, str(problem))
    fail(console, "the deployment file (LEADFLOW_CONFIG) cannot be used")


def parse_as_of(value: str | None) -> datetime | None:
    """``--as-of``: ISO-8601; no offset means UTC, a date alone midnight UTC."""
    if value is None:
        return None
    parsed = parse_datetime(value.strip())
    if parsed is None:
        raise typer.BadParameter("expected an ISO-8601 date-time, e.g. 2026-03-06T12:00:00Z")
    return parsed
