"""Batch import: parsed leads or events stored exactly once, in resumable batches.

The rows of one file are stored in batches; each batch commits in one transaction together
with the run's checkpoint (how many rows of the file are done), so a run killed at any point
and started again skips exactly the rows that were committed. The checkpoint is not the only
guard: storing a row again is harmless (a lead with the same data changes nothing, an event
id with the same content is skipped as a duplicate).

A row the store refuses (an event whose lead is unknown, a rejection, disqualification or
loss whose reason is not a code of its lead's playbook, an event id stored with other
content, a lead naming an unknown playbook) is reported and left out; the batch's other rows
are stored. A declared reason is stored as its code ("Not ready" → ``not_ready``). An event
whose lead's row was rejected in the same import is refused naming that row, so that it is
reported against its lead rather than as an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from leadflow.domain.events import Event
from leadflow.domain.profile import LeadProfile
from leadflow.errors import (
    EventConflictError,
    LeadflowError,
    LeadNotFoundError,
    PlaybookError,
    PlaybookNotFoundError,
    RecordProblem,
    StoreError,
)
from leadflow.services.store.intake import Context, event_hash, record_events, upsert_lead
from leadflow.services.store.ports import StoredLead, UnitOfWork
from leadflow.services.store.reasons import REASON_FIELD, event_reason

T = TypeVar("T")
Item = TypeVar("Item", LeadProfile, Event)
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class RunState:
    """How far a run got: the last row committed, and whether the whole file is done."""

    rows_done: int = 0
    finished: bool = False


class ImportRun(Protocol):
    """The checkpoint of one file's import and the transactions its batches commit in."""

    def state(self) -> RunState:
        """The run's checkpoint (a new run starts at row 0)."""
        ...

    def batch(self, work: Callable[[UnitOfWork], T], rows_done: int, finished: bool) -> T:
        """Run ``work`` and record the checkpoint in one transaction, and commit it."""
        ...


@dataclass
class ImportResult:
    """What one file's import did (rows of this run only; skipped rows are not counted)."""

    kind: str
    resumed_at: int = 0
    already_done: bool = False
    rows_stored: int = 0
    leads_created: int = 0
    leads_matched: int = 0
    events_stored: int = 0
    events_duplicate: int = 0
    refused: list[RecordProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    """A row the store will not take, with the field at fault and why."""

    field: str
    message: str


def _batches(rows: Iterable[tuple[int, Item]], size: int) -> Iterator[list[tuple[int, Item]]]:
    batch: list[tuple[int, Item]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _lead_refusal(profile: LeadProfile, ctx: Context) -> Refusal | None:
    try:
        ctx.playbooks(ctx.choice.choose(profile).playbook)
    except (PlaybookNotFoundError, PlaybookError) as exc:
        return Refusal("playbook", f"the playbook cannot be used: {exc}"[:300])
    return None


def _already_stored(store: UnitOfWork, profile: LeadProfile, ctx: Context) -> bool:
    """Whether this very row created the lead: storing it again must change nothing.

    A row imported again is old data: its consent flags must not undo a later revocation,
    nor its fields a later update, so it is matched and skipped.
    """
    lead = store.leads.get_lead(profile.lead_id)
    if lead is None or lead.lead_id != profile.lead_id:
        return False
    playbook = ctx.choice.choose(profile).playbook
    return lead.playbook == playbook and lead.profile == replace(profile, playbook=playbook)


def _no_lead(lead_id: str, rejected_leads: Mapping[str, str]) -> Refusal:
    """Why an event of an unknown lead is refused: its lead's rejected row, if there is one."""
    where = rejected_leads.get(lead_id)
    if where is None:
        return Refusal("lead_id", str(LeadNotFoundError(lead_id)))
    message = f"its lead `{lead_id}` was rejected ({where}); fix that row and import again"
    return Refusal("lead_id", message)


def _checked_event(
    batch: _EventBatch, event: Event, ctx: Context, rejected_leads: Mapping[str, str]
) -> Event | Refusal:
    """The event as it will be stored (its reason as a declared code), or why the store
    will not take it."""
    lead = batch.lead(event.lead_id)
    if lead is None:
        return _no_lead(event.lead_id, rejected_leads)
    try:
        checked = event_reason(ctx.playbooks(lead.playbook), event)
    except (PlaybookNotFoundError, PlaybookError) as exc:
        return Refusal("playbook", f"the lead's playbook cannot be used: {exc}"[:300])
    if isinstance(checked, str):
        return Refusal(REASON_FIELD, checked)
    known = batch.hashes.get(event.event_id)
    if known is not None and known != event_hash(replace(checked, lead_id=lead.lead_id)):
        return Refusal("event_id", str(EventConflictError(event.event_id)))
    return checked


class _EventBatch:
    """What checking a batch of event rows reads, read once: the stored content hashes of
    its event ids (one query) and each lead id's surviving lead (once per lead)."""

    def __init__(self, store: UnitOfWork, events: Sequence[Event]) -> None:
        self.store = store
        self.hashes = store.leads.event_hashes([event.event_id for event in events])
        self._leads: dict[str, StoredLead | None] = {}

    def lead(self, lead_id: str) -> StoredLead | None:
        if lead_id not in self._leads:
            self._leads[lead_id] = self.store.leads.get_lead(lead_id)
        return self._leads[lead_id]


def _refusal_of(
    exc: LeadflowError, item: LeadProfile | Event, rejected: Mapping[str, str]
) -> Refusal:
    if isinstance(exc, LeadNotFoundError):
        return _no_lead(item.lead_id, rejected)
    if isinstance(exc, EventConflictError):
        return Refusal("event_id", str(exc))
    if isinstance(exc, PlaybookNotFoundError | PlaybookError):
        return Refusal("playbook", f"the playbook cannot be used: {exc}"[:300])
    return Refusal("", str(exc))


class _Importer:
    """Stores the batches of one file, reporting refused rows as located problems."""

    def __init__(
        self,
        kind: str,
        source: str,
        run: ImportRun,
        *,
        context: Callable[[], Context],
        refused: Callable[[RecordProblem], None],
        progress: Callable[[int], None],
        rejected_leads: Mapping[str, str],
    ) -> None:
        self.kind = kind
        self.source = source
        self.run = run
        self.context = context
        self.refused = refused
        self.progress = progress
        self.rejected_leads = rejected_leads
        self.result = ImportResult(kind)
        self._pending = (0, 0, 0, 0)  # what the last committed batch did

    def _refuse(self, row: int, record_id: str, why: Refusal) -> None:
        problem = RecordProblem(self.source, row, record_id, why.field or None, why.message)
        self.result.refused.append(problem)
        self.refused(problem)

    # -- one batch ---------------------------------------------------------------------------
    def _store_leads(
        self, store: UnitOfWork, rows: Sequence[tuple[int, LeadProfile]]
    ) -> list[tuple[int, str, Refusal]]:
        ctx = self.context()
        refusals: list[tuple[int, str, Refusal]] = []
        created = matched = 0
        for row, profile in rows:
            why = _lead_refusal(profile, ctx)
            if why is not None:
                refusals.append((row, profile.lead_id, why))
                continue
            if _already_stored(store, profile, ctx):
                matched += 1
                continue
            outcome = upsert_lead(store, profile, ctx)
            created += outcome.created
            matched += not outcome.created
        self._pending = (created, matched, 0, 0)
        return refusals

    def _store_events(
        self, store: UnitOfWork, rows: Sequence[tuple[int, Event]]
    ) -> list[tuple[int, str, Refusal]]:
        ctx = self.context()
        refusals: list[tuple[int, str, Refusal]] = []
        good: list[Event] = []
        batch = _EventBatch(store, [event for _row, event in rows])
        for row, event in rows:
            checked = _checked_event(batch, event, ctx, self.rejected_leads)
            if isinstance(checked, Refusal):
                refusals.append((row, event.event_id, checked))
            else:
                good.append(checked)
        result = record_events(store, good, ctx)
        self._pending = (0, 0, len(result.stored), len(result.duplicates))
        return refusals

    def _work(
        self, rows: Sequence[tuple[int, Item]]
    ) -> Callable[[UnitOfWork], list[tuple[int, str, Refusal]]]:
        def work(store: UnitOfWork) -> list[tuple[int, str, Refusal]]:
            if self.kind == "leads":
                return self._store_leads(store, rows)  # type: ignore[arg-type]
            return self._store_events(store, rows)  # type: ignore[arg-type]

        return work

    def _commit(self, rows: Sequence[tuple[int, Item]], rows_done: int, finished: bool) -> None:
        refusals = self.run.batch(self._work(rows), rows_done, finished)
        created, matched, stored, duplicates = self._pending
        self.result.leads_created += created
        self.result.leads_matched += matched
        self.result.events_stored += stored
        self.result.events_duplicate += duplicates
        self.result.rows_stored += len(rows) - len(refusals)
        for row, record_id, why in refusals:
            self._refuse(row, record_id, why)

    def store(self, rows: list[tuple[int, Item]], finished: bool) -> None:
        """Commit one batch with its checkpoint; a batch the store refuses goes row by row."""
        last = rows[-1][0]
        try:
            self._commit(rows, last, finished)
        except StoreError:
            # A refusal the checks above did not foresee: each row in a transaction of its
            # own, so that only the refused rows are left out.
            for index, (row, item) in enumerate(rows):
                final = finished and index == len(rows) - 1
                try:
                    self._commit([(row, item)], row, final)
                except (StoreError, PlaybookNotFoundError, PlaybookError) as exc:
                    record_id = item.lead_id if isinstance(item, LeadProfile) else item.event_id
                    why = _refusal_of(exc, item, self.rejected_leads)
                    self._refuse(row, record_id, why)
                    self.run.batch(lambda _store: None, row, final)
        self.progress(last)


def import_rows(
    kind: str,
    rows: Iterable[tuple[int, Item]],
    run: ImportRun,
    context: Callable[[], Context],
    *,
    source: str,
    batch_size: int = DEFAULT_BATCH,
    refused: Callable[[RecordProblem], None] = lambda _problem: None,
    progress: Callable[[int], None] = lambda _row: None,
    rejected_leads: Mapping[str, str] | None = None,
) -> ImportResult:
    """Store ``rows`` (``(row number, lead or event)`` in file order) in committed batches.

    ``kind`` is ``"leads"`` or ``"events"``. Rows up to the run's checkpoint are skipped; a
    finished run stores nothing. ``context`` gives each batch its context (the time read
    once per batch); ``refused`` hears of each row the store refused, ``progress`` of the
    last row of each committed batch. ``rejected_leads`` tells where the rejected row of a
    lead id was (``leads.csv row 7``), for the events of that lead.
    """
    if kind not in ("leads", "events"):
        raise ValueError(f"unknown import kind `{kind}`")
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    importer = _Importer(
        kind,
        source,
        run,
        context=context,
        refused=refused,
        progress=progress,
        rejected_leads=rejected_leads or {},
    )
    state = run.state()
    importer.result.resumed_at = state.rows_done
    if state.finished:
        importer.result.already_done = True
        return importer.result
    todo = (pair for pair in rows if pair[0] > state.rows_done)
    pending: list[tuple[int, Item]] | None = None
    for batch in _batches(todo, batch_size):
        if pending is not None:
            importer.store(pending, finished=False)
        pending = batch
    if pending is not None:
        importer.store(pending, finished=True)
    else:
        run.batch(lambda _store: None, state.rows_done, True)
    return importer.result
