"""Deciders: the leads whose events were appended (``Context.defer``) decided in batches.

The ingest path appends events and queues their leads (``uow.pending``) in one short
transaction; a decider claims the oldest waiting leads, ``limit`` to a unit of work, and
decides each once from everything stored — however many events arrived for it meanwhile —
with its routing, SLA clock, stage history, audit, nurture and webhooks, exactly as an
event decided in its request would be. The queue rows go in the same unit of work as the
decisions: a decider that dies decides nothing twice and loses nothing (its rows are still
queued). On PostgreSQL several deciders (in ``leadflow worker`` and ``leadflow serve``
processes) take different leads (``SKIP LOCKED``).

A decision is made at the decider's ``now`` (the latest instant, so decay counts up to it)
and recorded as made for whoever appended the last event (the stage change's actor), with
that event's id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow.services.routing.assign import ImportedClocks
from leadflow.services.store.lifecycle import requalify_lead
from leadflow.services.store.ports import Pending, PlaybookLookup, Runner, UnitOfWork

DEFAULT_LIMIT = 50


@dataclass
class DecideReport:
    """What deciding the queue did: leads decided, stage changes, and the longest wait."""

    leads: int = 0
    changed: int = 0
    batches: int = 0
    waits_s: list[float] = field(default_factory=list)

    @property
    def longest_wait_s(self) -> float:
        return max(self.waits_s, default=0.0)


def _latest_by_survivor(
    uow: UnitOfWork, items: Sequence[Pending]
) -> dict[str, tuple[Pending, Pending]]:
    """For each surviving lead: its first (oldest) and its last queued item."""
    found: dict[str, tuple[Pending, Pending]] = {}
    survivors: dict[str, str | None] = {}
    for item in items:  # oldest first
        if item.lead_id not in survivors:
            lead = uow.leads.get_lead(item.lead_id)
            survivors[item.lead_id] = None if lead is None else lead.lead_id
        survivor = survivors[item.lead_id]
        if survivor is None:
            continue
        first = found[survivor][0] if survivor in found else item
        found[survivor] = (first, item)
    return found


def decide_batch(
    uow: UnitOfWork, playbooks: PlaybookLookup, now: datetime, limit: int = DEFAULT_LIMIT
) -> DecideReport:
    """Claim up to ``limit`` waiting leads and decide each once, in ``uow``."""
    report = DecideReport()
    items = uow.pending.claim(limit)
    if not items:
        return report
    report.batches = 1
    for survivor, (first, last) in _latest_by_survivor(uow, items).items():
        lead = uow.leads.get_lead(survivor)
        if lead is None:
            continue
        if survivor != last.lead_id:  # merged since: hold the lead that survived
            uow.leads.lock_lead(survivor)
        imported = (
            None
            if last.import_max_age_s is None
            else ImportedClocks(timedelta(seconds=last.import_max_age_s))
        )
        result = requalify_lead(
            uow, lead, playbooks, now, last.actor, event_id=last.event_id, imported=imported
        )
        report.leads += 1
        report.changed += result.changed
        report.waits_s.append(max(0.0, (now - first.queued_at).total_seconds()))
    uow.pending.done(items)
    return report


def decide_queued(
    run: Runner,
    playbooks: PlaybookLookup,
    clock: Callable[[], datetime],
    *,
    limit: int = DEFAULT_LIMIT,
    max_batches: int | None = None,
) -> DecideReport:
    """Decide waiting leads, a unit of work per ``limit`` of them, until none waits (or
    ``max_batches`` units ran). Short units keep the ingest path's wait short: on SQLite a
    unit holds the database's write lock while it runs."""
    total = DecideReport()
    while max_batches is None or total.batches < max_batches:
        done = run(lambda uow: decide_batch(uow, playbooks, clock(), limit))
        total.leads += done.leads
        total.changed += done.changed
        total.batches += done.batches
        total.waits_s.extend(done.waits_s)
        if done.batches == 0:
            break
    return total
