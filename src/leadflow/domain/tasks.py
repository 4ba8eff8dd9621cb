"""Tasks: work on a lead for whoever owns it — a recheck, a callback, an appointment to book.

The playbook's rules make some (an SQL handed to scheduling gets its appointment to book, an
"MQL – no timeline" its recheck on the recheck date; see ``services/routing/tasks.py``); reps
add others. A task is open until it is done or dismissed, with a reason code from
:data:`DISMISS_REASONS` — never free text, which could carry clinical details.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from leadflow.domain.purposes import PURPOSES, Purpose


class TaskKind(StrEnum):
    """What a task asks for."""

    CALLBACK = "callback"
    APPOINTMENT = "appointment"
    PROCESS_CALL = "process_call"
    NEXT_STEP = "next_step"
    RECHECK = "recheck"


TASK_LABELS: Mapping[TaskKind, str] = MappingProxyType(
    {
        TaskKind.CALLBACK: "Call back",
        TaskKind.APPOINTMENT: PURPOSES[Purpose.APPOINTMENT].label,
        TaskKind.PROCESS_CALL: PURPOSES[Purpose.PROCESS_CALL].label,
        TaskKind.NEXT_STEP: PURPOSES[Purpose.NEXT_STEP].label,
        TaskKind.RECHECK: PURPOSES[Purpose.RECHECK].label,
    }
)

# The purposes whose clocks come with a task for the owner (the rest — first outreach,
# discovery, follow-up — are the queue's own work, shown by the clock).
TASK_PURPOSES: frozenset[Purpose] = frozenset(
    {Purpose.APPOINTMENT, Purpose.PROCESS_CALL, Purpose.NEXT_STEP, Purpose.RECHECK}
)

# Why a person dismissed a task.
DISMISS_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "not_needed": "Not needed any more",
        "handled_elsewhere": "Handled elsewhere",
        "unreachable": "Lead could not be reached",
        "duplicate": "Duplicate task",
    }
)

# Why the system closed a rule's task.
DONE = "done"
DISMISSED = "dismissed"
DONE_BY_EVENT = "done_by_event"  # the event the task asked for happened
STAGE_CHANGED = "stage_changed"  # the lead moved on without it
LEAD_CLOSED = "lead_closed"  # won, lost or disqualified
RESCHEDULED = "rescheduled"  # a recheck brought forward by new engagement


def label_of_task(kind: str) -> str:
    """The label of ``kind`` (the kind itself for one this version does not know)."""
    try:
        return TASK_LABELS[TaskKind(kind)]
    except ValueError:
        return kind


def task_form(allowed: bool) -> dict[str, list[tuple[str, str]]] | None:
    """What a task form offers (kinds and dismissal reasons, with labels), or ``None`` for
    someone who may not change tasks."""
    if not allowed:
        return None
    return {
        "kinds": [(k.value, label) for k, label in TASK_LABELS.items()],
        "reasons": list(DISMISS_REASONS.items()),
    }
