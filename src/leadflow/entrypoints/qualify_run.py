"""What ``leadflow qualify`` does, minus the command line: read, qualify, write, report.

Wires the record readers (adapters) to the batch use case (services). The CLI and the
benchmark both call :func:`run_qualify`, so they measure and run the same code.
"""

from __future__ import annotations

import gc
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO, TypeVar

from leadflow.adapters.records import (
    ColumnMapping,
    Finding,
    RecordWarning,
    read_events,
    read_leads,
)
from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.errors import RecordProblem
from leadflow.services.qualification import PerLead, UnmatchedEvents, qualify_batch

PROGRESS_EVERY = 1024
_T = TypeVar("_T", LeadProfile, Event)


class Reporter(Protocol):
    """Where a run sends its findings and progress (the CLI prints them)."""

    def finding(self, finding: Finding) -> None:
        """A bad row's problem, or a warning about a dropped value."""

    def progress(self, phase: str, done: int) -> None:
        """``done`` events read (phase ``events``) or leads qualified (phase ``leads``)."""


@dataclass(frozen=True)
class QualifyInputs:
    """One ``leadflow qualify`` run: the files, the mapping, the playbook and the instant."""

    playbook: Playbook | PerLead  # one for every lead, or each lead's own
    leads: Path
    as_of: datetime
    events: Path | None = None
    mapping: ColumnMapping = field(default_factory=ColumnMapping)


@dataclass
class QualifyOutcome:
    """What a run did: decisions by stage, rejected rows, warnings, unmatched events."""

    stage_counts: Counter[Stage]
    rejected_rows: int
    warnings: int
    unmatched: tuple[UnmatchedEvents, ...]
    events_source: str | None

    @property
    def qualified(self) -> int:
        """How many decisions were written."""
        return self.stage_counts.total()


class Tally:
    """Passes findings to the reporter, counting rejected rows and warnings (shared by the
    commands that read records: ``qualify`` and ``backtest``)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.rejected_rows = 0
        self.warnings = 0
        self._last: tuple[str, int] | None = None

    def keep(
        self, items: Iterable[_T | Finding], kind: type[_T], phase: str | None = None
    ) -> Iterator[_T]:
        """The domain objects of ``items``; everything else is reported. With a ``phase``,
        progress is reported as the objects pass."""
        done = 0
        for item in items:
            if isinstance(item, kind):
                done += 1
                if phase is not None and done % PROGRESS_EVERY == 0:
                    self.reporter.progress(phase, done)
                yield item
            elif isinstance(item, RecordWarning):
                self.warnings += 1
                self.reporter.finding(item)
            elif isinstance(item, RecordProblem):
                row = (item.source, item.row)
                if row != self._last:
                    self.rejected_rows += 1
                    self._last = row
                self.reporter.finding(item)
        if phase is not None:
            self.reporter.progress(phase, done)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring its state afterwards.

    A run allocates millions of records, events and decisions that never form reference
    cycles (reference counting frees them); the collector's repeated scans of the growing
    heap of events cost about a third of the reading time and buy nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_qualify(inputs: QualifyInputs, output: TextIO, reporter: Reporter) -> QualifyOutcome:
    """Qualify every good lead of ``inputs`` and write one JSON line per decision.

    Decisions are written in input order as compact JSON (``Decision.to_record()``).
    Raises :class:`~leadflow.errors.InputFileError` when a file cannot be read; a missing
    file or header is found before anything is written.
    """
    with cycle_collector_paused():
        return _run(inputs, output, reporter)


def _run(inputs: QualifyInputs, output: TextIO, reporter: Reporter) -> QualifyOutcome:
    tally = Tally(reporter)
    events: Iterable[Event] = ()
    if inputs.events is not None:
        event_items = read_events(inputs.events, inputs.mapping.events)
        events = tally.keep(event_items, Event, "events")
    leads = tally.keep(read_leads(inputs.leads, inputs.mapping.leads), LeadProfile)
    batch = qualify_batch(leads, events, inputs.playbook, inputs.as_of)
    # A decision record is a fresh tree of dicts and lists: no cycle check needed.
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
    encode = encoder.encode
    write = output.write
    for done, decision in enumerate(batch, 1):
        write(encode(decision.to_record()))
        write("\n")
        if done % PROGRESS_EVERY == 0:
            reporter.progress("leads", done)
    reporter.progress("leads", batch.qualified)
    return QualifyOutcome(
        stage_counts=batch.stage_counts,
        rejected_rows=tally.rejected_rows,
        warnings=tally.warnings,
        unmatched=batch.unmatched,
        events_source=inputs.events.name if inputs.events is not None else None,
    )


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through a temporary file that replaces it only on success.

    A run that fails half-way leaves an existing file untouched and no partial one behind.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            yield handle
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
