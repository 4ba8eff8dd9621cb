"""``leadflow show``: decision records (JSON Lines) as tables a person can read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from leadflow.errors import InputFileError

_REQUIRED = ("lead_id", "stage", "status", "fit_score", "intent_score", "band", "reasons")


def read_decisions(path: Path) -> Iterator[dict[str, Any]]:
    """Decision records from a JSON Lines file written by ``leadflow qualify``."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{path} line {number}: not JSON ({exc.msg})") from exc
            missing = [k for k in _REQUIRED if not isinstance(record, dict) or k not in record]
            if missing:
                raise InputFileError(
                    f"{path} line {number}: not a decision record (missing {', '.join(missing)})"
                )
            yield record


def _points(value: float) -> str:
    return f"{value:+g}" if value else "·"


def _why(record: dict[str, Any], limit: int = 4) -> list[str]:
    reasons = record["reasons"]
    sales = [r for r in reasons if not r["points"]]
    scored = sorted((r for r in reasons if r["points"]), key=lambda r: -abs(r["points"]))
    chosen = (sales[-2:] + scored)[:limit]
    lines = [f"{_points(r['points'])} {r['label']}" for r in chosen]
    if len(reasons) > len(chosen):
        lines.append(f"… {len(reasons) - len(chosen)} more (leadflow show FILE --lead ID)")
    return lines


def summary(records: list[dict[str, Any]]) -> Group:
    """Per lead: stage and scores on one line, then why, what blocks it and what to do."""
    counts: dict[str, int] = {}
    parts: list[Text | str] = []
    for record in records:
        counts[record["stage"]] = counts.get(record["stage"], 0) + 1
        head = Text.assemble(
            (f"{record['lead_id']}  ", "bold"),
            (record["stage"], "bold cyan"),
            f" — {record['status']}  ·  fit {record['fit_score']:g}"
            f"  ·  intent {record['intent_score']:g}  ·  band {record['band']}",
        )
        parts.append(head)
        for line in _why(record):
            parts.append(Text(f"    why     {line}"))
        blockers = [b["label"] for b in record.get("blockers", [])]
        if record.get("disqualification_reason"):
            blockers = [f"disqualified: {record['disqualification_reason']}"]
        for line in blockers[:3]:
            parts.append(Text(f"    needs   {line}"))
        parts.append(Text(f"    next    {record.get('next_action', '')}"))
        parts.append("")
    total = ", ".join(f"{stage} {n}" for stage, n in counts.items())
    parts.append(Text(f"{len(records)} leads: {total}", style="bold"))
    return Group(*parts)


def lead_panel(record: dict[str, Any]) -> Panel:
    """Everything about one decision: every reason with its evidence, every blocker."""
    reasons = Table("Rule", "Points", "Why", "Evidence (event ids)", expand=True)
    for reason in record["reasons"]:
        reasons.add_row(
            reason["rule"],
            _points(reason["points"]),
            reason["label"],
            ", ".join(reason.get("evidence", [])) or "profile",
        )
    blockers = Table("Rule", "Still needed for the next stage", expand=True)
    for blocker in record.get("blockers", []):
        blockers.add_row(blocker["rule"], blocker["label"])
    route = record.get("route") or {}
    playbook = record.get("playbook") or {}
    head = (
        f"[bold]{record['stage']}[/bold] — {record['status']}\n"
        f"fit {record['fit_score']:g} · intent {record['intent_score']:g} · band {record['band']}"
        f" · queue {route.get('queue') or '—'}\n"
        f"next action: {record.get('next_action', '')}\n"
        f"playbook {playbook.get('id', '?')} version {playbook.get('version', '?')}"
    )
    if record.get("disqualification_reason"):
        head += f"\ndisqualified: {record['disqualification_reason']}"
    return Panel(Group(head, reasons, blockers), title=f"Lead {record['lead_id']}")


def render(console: Console, records: list[dict[str, Any]], lead_id: str | None) -> bool:
    """Print the summary, or one lead in full; False when that lead is not in the file."""
    if lead_id is None:
        console.print(summary(records))
        return True
    chosen = [r for r in records if r["lead_id"] == lead_id]
    for record in chosen:
        console.print(lead_panel(record))
    return bool(chosen)
