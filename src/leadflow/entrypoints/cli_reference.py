"""The reference parts of docs/cli.md, generated from the code itself.

``python -m leadflow.entrypoints.cli_reference`` prints the event-type table and the
command reference; a test fails when the copies in docs/cli.md differ, so the reference
cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

import typer

from leadflow.domain.events import (
    CONSENT_TYPES,
    ENGAGEMENT_TYPES,
    EVENT_PROPERTIES,
    SALES_TYPES,
    EventType,
)
from leadflow.entrypoints.cli import app

GENERATED = "(generated: python -m leadflow.entrypoints.cli_reference)"
START = f"<!-- cli-reference:start {GENERATED} -->"
END = "<!-- cli-reference:end -->"
EVENTS_START = f"<!-- event-reference:start {GENERATED} -->"
EVENTS_END = "<!-- event-reference:end -->"


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
    metavar = param.metavar or ("" if getattr(param, "is_flag", False) else param.name or "")
    is_option = param.param_type_name == "option"
    shown = f"{names} {metavar}".strip() if is_option else f"`{metavar}`"
    text = (getattr(param, "help", None) or "").replace("|", "\\|")
    if param.required:
        text += " Required."
    elif is_option and param.default not in (None, False, ()):
        text += f" Default: `{param.default}`."
    return f"| {shown} | {text.strip()} |"


def _command(path: str, command: Any) -> list[str]:
    lines = [f"### `{path}`", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    params = [p for p in command.params if p.name not in ("help",)]
    if params:
        lines += ["| argument or option | meaning |", "|---|---|"]
        lines += [_option_row(p) for p in params]
        lines.append("")
    return lines


def _walk(path: str, command: Any) -> list[str]:
    if hasattr(command, "commands"):
        lines = _command(path, command) if path == "leadflow" else []
        for name in sorted(command.commands):
            lines += _walk(f"{path} {name}", command.commands[name])
        return lines
    return _command(path, command)


def render_cli_reference() -> str:
    """Markdown for every ``leadflow`` command, its arguments and options."""
    root = typer.main.get_command(app)
    return "\n".join([START, "", *_walk("leadflow", root), END]) + "\n"


def _group(event_type: EventType) -> str:
    if event_type in ENGAGEMENT_TYPES:
        return "engagement"
    if event_type in CONSENT_TYPES:
        return "consent"
    if event_type in SALES_TYPES:
        return "sales and intake"
    return "profile"


def render_event_reference() -> str:
    """Markdown table of every canonical event type and its known properties."""
    lines = [EVENTS_START, "", "| type | kind | known properties |", "|---|---|---|"]
    for event_type in EventType:
        specs = EVENT_PROPERTIES[event_type]
        props = "; ".join(f"`{p.name}` ({p.kind.value}): {p.description}" for p in specs)
        if event_type is EventType.PROFILE_UPDATED:
            props = "the changed lead fields, by their canonical names"
        lines.append(f"| `{event_type.value}` | {_group(event_type)} | {props or '—'} |")
    return "\n".join([*lines, "", EVENTS_END]) + "\n"


if __name__ == "__main__":
    print(render_event_reference())
    print(render_cli_reference(), end="")
