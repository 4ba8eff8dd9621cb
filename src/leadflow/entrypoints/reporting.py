"""How the CLI tells people what happened: problem lines, the progress bar, the summary.

Everything goes to stderr, so stdout carries only the decisions. Lines are printed without
Rich markup (a record id is never read as a style).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from leadflow.adapters.records import Finding, finding_record
from leadflow.domain.stages import Stage
from leadflow.entrypoints.qualify_run import QualifyOutcome

PROGRESS_MIN_BYTES = 1_000_000  # below this (~5,000 leads) a run is over before a bar helps
_SHOWN_IDS = 5


def say(console: Console, text: str) -> None:
    """One plain line on ``console``: no markup, no highlighting, no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _count_rows(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            lines += chunk.count(b"\n")
    return max(0, lines - 1) if path.suffix.lower() == ".csv" else lines


class ConsoleReporter:
    """Prints every finding, copies it to the rejects file, and moves the progress bar."""

    def __init__(self, console: Console, rejects: TextIO | None) -> None:
        self.console = console
        self.rejects = rejects
        self._bar: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def finding(self, finding: Finding) -> None:
        say(self.console, str(finding))
        if self.rejects is not None:
            self.rejects.write(json.dumps(finding_record(finding), ensure_ascii=False) + "\n")

    def progress(self, phase: str, done: int) -> None:
        task = self._tasks.get(phase)
        if self._bar is not None and task is not None:
            self._bar.update(task, completed=done)

    def unmatched(self, outcome: QualifyOutcome) -> None:
        """One warning line for the events whose lead never came; each one to the rejects."""
        if not outcome.unmatched:
            return
        source = outcome.events_source or "events"
        events = sum(len(u.event_ids) for u in outcome.unmatched)
        ids = [u.lead_id for u in outcome.unmatched]
        shown = ", ".join(ids[:_SHOWN_IDS]) + (", …" if len(ids) > _SHOWN_IDS else "")
        say(
            self.console,
            f"warning: {source}: {_plural(events, 'event')} for "
            f"{_plural(len(ids), 'lead id')} not among the qualified leads: {shown}",
        )
        if self.rejects is None:
            return
        for group in outcome.unmatched:
            for event_id in group.event_ids:
                record = {
                    "source": source,
                    "row": None,
                    "record_id": event_id,
                    "field": "lead_id",
                    "severity": "warning",
                    "message": f"lead `{group.lead_id}` is not among the qualified leads",
                }
                self.rejects.write(json.dumps(record, ensure_ascii=False) + "\n")

    @contextmanager
    def progress_bar(self, leads: Path, events: Path | None, *, enabled: bool) -> Iterator[None]:
        """Show a bar while the block runs if ``enabled``, stderr is a terminal and the input
        is large; the decisions must then go to a file, not to the terminal."""
        files = [p for p in (events, leads) if p is not None]
        try:
            size = sum(p.stat().st_size for p in files)
        except OSError:
            size = 0  # the reader reports the missing file properly
        if not enabled or not self.console.is_terminal or size < PROGRESS_MIN_BYTES:
            yield
            return
        bar = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        if events is not None:
            self._tasks["events"] = bar.add_task("Reading events", total=_count_rows(events))
        self._tasks["leads"] = bar.add_task("Qualifying leads", total=_count_rows(leads))
        self._bar = bar
        try:
            with bar:
                yield
        finally:
            self._bar = None


def summary(outcome: QualifyOutcome) -> str:
    """``qualified 12 leads (new 1, nurture 4, mql 3, …); 2 rows rejected; 1 warning``."""
    stages = ", ".join(
        f"{stage.value} {outcome.stage_counts[stage]}"
        for stage in Stage
        if outcome.stage_counts[stage]
    )
    text = f"qualified {_plural(outcome.qualified, 'lead')}"
    text += f" ({stages})" if stages else ""
    text += f"; {_plural(outcome.rejected_rows, 'row')} rejected"
    if outcome.warnings:
        text += f"; {_plural(outcome.warnings, 'warning')}"
    if outcome.unmatched:
        text += f"; {_plural(len(outcome.unmatched), 'unknown lead id')} in the events"
    return text
