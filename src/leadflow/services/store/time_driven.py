"""Time passing is an event like any other: the worker re-decides the leads whose decision
time alone may have changed.

Each decision is stored with ``next_change_at`` (:func:`leadflow.domain.next_change.next_change`:
intent decaying below a threshold or into another band, an "MQL – no timeline" recheck date).
:func:`redecide_due` takes the leads whose instant has come, ``limit`` to a unit of work, and
decides them at ``now`` on ``requalify``'s batch path (routing, SLA clocks, nurture, stage
history, audit, webhooks — as an event would); each new decision carries its own next
instant, so a lead is read again only when something can have changed — never on every pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadflow.services.store.ports import PlaybookLookup, Runner, UnitOfWork
from leadflow.services.store.requalify import RequalifyReport, decide_many

WORKER = "worker:time"


@dataclass
class TimeReport:
    """What one pass did: leads re-decided, and how many of them changed stage."""

    decided: int = 0
    changed: int = 0


def redecide_due(
    run: Runner, playbooks: PlaybookLookup, now: datetime, limit: int = 200
) -> TimeReport:
    """Re-decide, at ``now``, every lead whose ``next_change_at`` has come."""
    report = TimeReport()

    def batch(uow: UnitOfWork) -> tuple[int, int]:
        ids = uow.leads.due_for_change(now, limit)
        done = RequalifyReport()
        decide_many(uow, ids, playbooks, done, as_of=now, actor=WORKER)
        return len(ids), done.changed

    while True:
        count, changed = run(batch)
        report.decided += count
        report.changed += changed
        if count < limit:
            return report
