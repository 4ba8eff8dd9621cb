"""What an SLA clock is for: what is due next, and which events do it.

Each routed stage's clock has a purpose. Entering MQL, the lead is due for its **first
outreach**; accepted, for **discovery**; an SQL handed to scheduling, for an **appointment**
(a referral partner for a **process call**, a buyer for its **next step**); an "MQL – no
timeline" for its **recheck** on the recheck date. A queue may name another purpose per
stage (``purposes:`` in the playbook); these are the defaults. A clock stops at the first
event, at or after its start, that does what it is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from leadflow.domain.events import EventType
from leadflow.domain.stages import Stage

_OUTREACH, _DISCOVERY, _SCHEDULED = (
    EventType.OUTREACH_LOGGED,
    EventType.DISCOVERY_COMPLETED,
    EventType.APPOINTMENT_SCHEDULED,
)


class Purpose(StrEnum):
    """What a clock is for."""

    FIRST_OUTREACH = "first_outreach"
    DISCOVERY = "discovery"
    APPOINTMENT = "appointment"
    PROCESS_CALL = "process_call"
    NEXT_STEP = "next_step"
    FOLLOW_UP = "follow_up"
    RECHECK = "recheck"


@dataclass(frozen=True)
class PurposeSpec:
    """A purpose's label (what My queue says is due) and the events that do it."""

    label: str
    done_by: frozenset[EventType]


PURPOSES: Mapping[Purpose, PurposeSpec] = MappingProxyType(
    {
        # contact made: an outreach logged, or a discovery call or booking that needed one
        Purpose.FIRST_OUTREACH: PurposeSpec(
            "First outreach", frozenset({_OUTREACH, _DISCOVERY, _SCHEDULED})
        ),
        Purpose.DISCOVERY: PurposeSpec("Discovery call", frozenset({_DISCOVERY})),
        Purpose.APPOINTMENT: PurposeSpec("Appointment to schedule", frozenset({_SCHEDULED})),
        Purpose.PROCESS_CALL: PurposeSpec("Process call to book", frozenset({_SCHEDULED})),
        Purpose.NEXT_STEP: PurposeSpec("Next step to book", frozenset({_SCHEDULED})),
        Purpose.FOLLOW_UP: PurposeSpec("Follow-up on the outcome", frozenset({_OUTREACH})),
        Purpose.RECHECK: PurposeSpec("Timeline recheck", frozenset({_OUTREACH, _DISCOVERY})),
    }
)

DEFAULT_PURPOSES: Mapping[Stage, Purpose] = MappingProxyType(
    {
        Stage.MQL: Purpose.FIRST_OUTREACH,
        Stage.SALES_ACCEPTED: Purpose.DISCOVERY,
        Stage.SQL: Purpose.NEXT_STEP,
        Stage.OPPORTUNITY: Purpose.FOLLOW_UP,
    }
)


def label_of(purpose: str | None) -> str:
    """The label of ``purpose`` (a stored clock's), first outreach for clocks stored before
    purposes existed."""
    try:
        return PURPOSES[Purpose(purpose or Purpose.FIRST_OUTREACH)].label
    except ValueError:
        return purpose or ""
