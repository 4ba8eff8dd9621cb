"""Tasks for a lead's owner: the playbook's (an appointment to book, a recheck on its date)
follow the lead's clock; reps add their own (a callback) and close them.

A lead whose running clock is for an appointment, a process call, a next step or a recheck
(:data:`~leadflow.domain.tasks.TASK_PURPOSES`) has one open task of that kind, due when the
work is due (a recheck on its date; the others at the clock's due time). The task is
**done** when the event it asks for stops the clock, and **dismissed** when the lead moves on
without it (``stage_changed``) or a recheck is brought forward (``rescheduled``). Reps'
tasks stay open until a person closes them, or the lead is won, lost or disqualified
(``lead_closed``). Tasks are for whoever owns the lead now: they follow reassignment.
"""

from __future__ import annotations

from datetime import datetime

from leadflow.domain.decision import Decision
from leadflow.domain.purposes import Purpose
from leadflow.domain.stages import TERMINAL_STAGES
from leadflow.domain.tasks import (
    DISMISS_REASONS,
    DISMISSED,
    DONE,
    DONE_BY_EVENT,
    LEAD_CLOSED,
    RESCHEDULED,
    STAGE_CHANGED,
    TASK_PURPOSES,
    TaskKind,
)
from leadflow.errors import (
    InvalidRecordError,
    LeadNotFoundError,
    RecordProblem,
    TaskNotFoundError,
)
from leadflow.services.routing.ports import SlaClock, Task
from leadflow.services.store.ports import AuditEntry, UnitOfWork

RULE = "rule"


def rule_key(clock: SlaClock, decision: Decision) -> str | None:
    """The key of the task ``clock`` comes with (``None``: it comes with none): a recheck's
    is its date (a clock restarted for a new owner after a breach keeps the task)."""
    purpose = Purpose(clock.purpose)
    if purpose not in TASK_PURPOSES:
        return None
    if purpose is Purpose.RECHECK:
        when = decision.recheck_at or clock.started_at
        return f"recheck:{when.isoformat()}"
    return f"{purpose.value}:{clock.stage}"


def sync_rule_tasks(
    store: UnitOfWork,
    decision: Decision,
    *,
    running: SlaClock | None,
    stopped: SlaClock | None,
    at: datetime,
) -> None:
    """Make the lead's tasks match its clock after routing: close what is no longer due
    (done when ``stopped`` did it), open the task ``running`` comes with."""
    wanted = None if running is None else rule_key(running, decision)
    done = None if stopped is None else rule_key(stopped, decision)
    tasks = store.tasks.open_tasks(decision.lead_id)
    for task in tasks:
        if task.rule_key is None:
            if decision.stage in TERMINAL_STAGES:
                _close(store, task, DISMISSED, LEAD_CLOSED, by=RULE, at=at)
        elif task.rule_key == done:
            _close(store, task, DONE, DONE_BY_EVENT, by=RULE, at=at)
        elif task.rule_key != wanted:
            moved = task.kind == TaskKind.RECHECK and (wanted or "").startswith("recheck:")
            _close(store, task, DISMISSED, RESCHEDULED if moved else STAGE_CHANGED, by=RULE, at=at)
    if running is not None and wanted is not None and all(t.rule_key != wanted for t in tasks):
        recheck = decision.recheck_at if running.purpose == Purpose.RECHECK else None
        store.tasks.add_task(
            Task(
                id=0,
                lead_id=decision.lead_id,
                kind=running.purpose,
                due_at=recheck or running.due_at,
                created_at=at,
                created_by=f"{RULE}:{running.purpose}",
                rule_key=wanted,
            )
        )


def _close(
    store: UnitOfWork, task: Task, status: str, reason: str, *, by: str, at: datetime
) -> Task:
    closed = store.tasks.close_task(task, status=status, at=at, by=by, reason=reason)
    store.audit.append(
        AuditEntry(
            at=at,
            actor=by,
            action=f"task.{status}",
            entity="lead",
            entity_id=task.lead_id,
            before={"task": task.id, "status": task.status},
            after={"task": task.id, "kind": task.kind, "status": status},
            reason=reason,
        )
    )
    return closed


# -- a person's tasks -------------------------------------------------------------------------


def _problem(record_id: str, field: str, message: str) -> InvalidRecordError:
    return InvalidRecordError([RecordProblem("request", 1, record_id, field, message)])


def add_task(
    store: UnitOfWork, lead_id: str, kind: str, due_at: datetime, *, actor: str, at: datetime
) -> Task:
    """A rep's task on the lead (following merges), audited. Raises
    :class:`LeadNotFoundError`, or :class:`InvalidRecordError` for an unknown kind."""
    try:
        chosen = TaskKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in TaskKind)
        raise _problem(lead_id, "kind", f"unknown task kind; give one of {kinds}") from None
    if due_at.tzinfo is None:
        raise _problem(lead_id, "due_at", "give a time zone (an offset or Z)")
    lead = store.leads.get_lead(lead_id)
    if lead is None:
        raise LeadNotFoundError(lead_id)
    task = store.tasks.add_task(
        Task(0, lead.lead_id, chosen.value, due_at, created_at=at, created_by=actor)
    )
    store.audit.append(
        AuditEntry(
            at=at,
            actor=actor,
            action="task.created",
            entity="lead",
            entity_id=lead.lead_id,
            after={"task": task.id, "kind": task.kind, "due_at": due_at.isoformat()},
        )
    )
    return task


def close_task(
    store: UnitOfWork, task_id: int, *, done: bool, reason: str | None, actor: str, at: datetime
) -> Task:
    """Mark the task done, or dismissed with a reason code from ``DISMISS_REASONS``. Closing
    a closed task again changes nothing and returns it as it is."""
    task = store.tasks.get_task(task_id)
    if task is None:
        raise TaskNotFoundError(task_id)
    if task.status != "open":
        return task
    if done:
        return _close(store, task, DONE, DONE, by=actor, at=at)
    if reason is None or reason not in DISMISS_REASONS:
        codes = ", ".join(DISMISS_REASONS)
        raise _problem(str(task_id), "reason", f"a dismissal needs a reason: one of {codes}")
    return _close(store, task, DISMISSED, reason, by=actor, at=at)
