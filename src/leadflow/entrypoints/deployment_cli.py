"""What the command line reads from a deployment: its playbooks (``LEADFLOW_PLAYBOOK_DIR``),
its playbook choice (``LEADFLOW_CONFIG``), and ``leadflow playbook new``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from leadflow.adapters.deployment import load_choice
from leadflow.adapters.playbook_files import PLAYBOOK_NAME, Playbooks
from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.entrypoints.bootstrap import load_playbooks
from leadflow.entrypoints.common import config_failed, fail, stderr
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.settings import Settings
from leadflow.errors import ConfigError, PlaybookError, PlaybookNotFoundError
from leadflow.services.qualification import PerLead

_ID_LINE = re.compile(r"^id:[^\n]*$", re.MULTILINE)


def _settings(console: Console) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = "LEADFLOW_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            say(console, f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        fail(console, "invalid settings")


def per_lead_or_exit(console: Console) -> PerLead:
    """Each lead's own playbook, else the deployment's choice; problems printed, exit 2."""
    settings = _settings(console)
    playbooks = load_playbooks(settings)
    try:
        choice = load_choice(settings.config, playbooks.names())
    except ConfigError as exc:
        config_failed(console, exc)
    return PerLead(choice, playbooks)


def new_playbook(playbooks: Playbooks, name: str, source: str, folder: Path) -> tuple[Path, str]:
    """Write ``folder/NAME.yaml``: playbook ``source`` as written, its ``id`` now ``name``.

    Returns the path and the new playbook's version. Refuses a name that is not a playbook
    name and a file that exists (:class:`FileExistsError`); the copy is checked in full
    before it is written.
    """
    if not PLAYBOOK_NAME.match(name):
        raise PlaybookNotFoundError(
            f"`{name}` is not a playbook name: a-z, 0-9, `-` and `_`, e.g. `north-clinic`"
        )
    text, count = _ID_LINE.subn(f"id: {name}", playbooks.text(source), count=1)
    path = folder / f"{name}.yaml"
    if count != 1:
        raise PlaybookNotFoundError(f"playbook `{source}` has no top-level `id:` line to change")
    checked = load_playbook_text(text, str(path))
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path, checked.version


def playbook_new(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new playbook's name (and id).")],
    from_: Annotated[
        str, typer.Option("--from", metavar="NAME", help="The playbook to start from.")
    ],
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", metavar="DIR", help="Where to write it (default: $LEADFLOW_PLAYBOOK_DIR)."
        ),
    ] = None,
) -> None:
    """Start a playbook of your own from a shipped one: DIR/NAME.yaml, its id changed.

    Never overwrites a file. Point LEADFLOW_PLAYBOOK_DIR at DIR to use it: leads name it by
    NAME, and a running server picks up every later edit of the file.
    """
    console = stderr()
    settings = _settings(console)
    folder = directory or (Path(settings.playbook_dir) if settings.playbook_dir else None)
    if folder is None:
        fail(console, "give --dir DIR or set LEADFLOW_PLAYBOOK_DIR")
    try:
        path, version = new_playbook(load_playbooks(settings), name, from_, folder)
    except FileExistsError:
        fail(console, f"{folder / (name + '.yaml')} exists: not overwritten")
    except PlaybookNotFoundError as exc:
        fail(console, str(exc))
    except PlaybookError as exc:
        for problem in exc.problems:
            say(console, str(problem))
        fail(console, f"`{from_}` copied as `{name}` does not load")
    except OSError as exc:
        fail(console, f"cannot write {folder}: {type(exc).__name__}")
    typer.echo(f"wrote {path} (playbook `{name}` version {version}, from `{from_}`)")
    typer.echo(f"next: edit it, then `leadflow playbook check {path}`")
