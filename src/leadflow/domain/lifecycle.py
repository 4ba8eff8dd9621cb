"""Sales and intake facts replayed in order: acceptance, recycling, discovery, outcomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow.domain.decision import Reason
from leadflow.domain.events import (
    ENGAGEMENT_TYPES,
    SALES_TYPES,
    Event,
    EventType,
    PropertyValue,
)
from leadflow.domain.playbook import SqlGate
from leadflow.domain.stages import TERMINAL_STAGES, Stage

RECYCLED = "Recycled from sales"
NO_TIMELINE = "MQL – no timeline"

# The event types ``replay_sales`` acts on: every sales fact except logged outreach, which
# leaves the stage alone.
_SALES_FACTS = SALES_TYPES - {EventType.OUTREACH_LOGGED}


# Engagement that brings a no-timeline recheck forward (seed 003: "a later recheck when
# engagement increases"); an email open alone does not, as mail clients open by themselves.
RECHECK_SIGNALS: frozenset[EventType] = ENGAGEMENT_TYPES - {EventType.EMAIL_OPENED}


def answer_given(name: str, value: PropertyValue) -> bool:
    """A discovery answer counts when a yes/no answer is yes, or a text answer is given."""
    if name.endswith("_confirmed"):
        return value is True
    return isinstance(value, str) and value.strip() != ""


@dataclass
class SalesState:
    """Where sales facts have put the lead; ``stage is None`` leaves it to the scores."""

    stage: Stage | None = None
    status: str | None = None
    terminal_reason: str | None = None
    recycled_at: datetime | None = None
    no_timeline_at: datetime | None = None
    answers: dict[str, PropertyValue] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)

    def missing_answers(self, gate: SqlGate) -> list[str]:
        """The required discovery answers not yet given in this sales cycle."""
        return [
            r.answer
            for r in gate.requires
            if not answer_given(r.answer, self.answers.get(r.answer))
        ]


def _reason_text(event: Event) -> str:
    reason = event.prop("reason")
    return reason.strip() if isinstance(reason, str) and reason.strip() else "unspecified"


def _recycle(state: SalesState, event: Event, why: str, label: str) -> None:
    state.stage = None
    state.status = RECYCLED
    state.recycled_at = event.occurred_at
    state.no_timeline_at = None
    state.answers = {}
    state.reasons.append(
        Reason(f"sales.{event.type.value}", f"{label}: {why}", 0, (event.event_id,))
    )


def _discovery(state: SalesState, event: Event, gate: SqlGate) -> None:
    for name, value in event.properties.items():
        if value is not None and value != "":
            state.answers[name] = value
    if state.answers.get("need_confirmed") is False:
        _recycle(state, event, "no_active_need", "Discovery found no active need")
        return
    missing = state.missing_answers(gate)
    evidence = (event.event_id,)
    if state.stage is Stage.OPPORTUNITY:
        state.reasons.append(Reason("sql.discovery", "Discovery answers recorded", 0, evidence))
        return
    if not missing:
        state.stage, state.status, state.no_timeline_at = Stage.SQL, "SQL-ready", None
        state.reasons.append(
            Reason("sql.discovery", "Discovery confirmed every SQL requirement", 0, evidence)
        )
        return
    no_timeline_reason = state.answers.get("no_timeline_reason")
    no_timeline = not answer_given("timeline", state.answers.get("timeline"))
    if no_timeline and answer_given("no_timeline_reason", no_timeline_reason):
        state.stage, state.status = Stage.MQL, NO_TIMELINE
        if state.no_timeline_at is None:
            state.no_timeline_at = event.occurred_at
        state.reasons.append(
            Reason(
                "sql.no_timeline", f"Interest but no timeline: {no_timeline_reason}", 0, evidence
            )
        )
        return
    if state.stage is not Stage.SQL:
        state.stage = Stage.SALES_ACCEPTED
        eligibility_missing = "eligibility_confirmed" in missing
        state.status = (
            "Awaiting eligibility check" if eligibility_missing else "Discovery in progress"
        )
    state.reasons.append(Reason("sql.discovery", "Discovery answers recorded", 0, evidence))


def _accepted(state: SalesState, event: Event) -> None:
    if state.stage not in (Stage.SQL, Stage.OPPORTUNITY):
        state.stage, state.status = Stage.SALES_ACCEPTED, "Sales accepted"
    state.reasons.append(Reason("sales.accepted", "Accepted by sales", 0, (event.event_id,)))


def _scheduled(state: SalesState, event: Event) -> None:
    state.stage, state.status = Stage.OPPORTUNITY, "Appointment scheduled"
    state.reasons.append(
        Reason("sales.appointment_scheduled", "Appointment scheduled", 0, (event.event_id,))
    )


def _won(state: SalesState, event: Event) -> None:
    state.stage, state.status = Stage.WON, "Won"
    state.reasons.append(Reason("sales.closed_won", "Closed won", 0, (event.event_id,)))


def _lost(state: SalesState, event: Event) -> None:
    why = _reason_text(event)
    state.stage, state.status, state.terminal_reason = Stage.LOST, f"Lost – {why}", why
    state.reasons.append(Reason("sales.closed_lost", f"Closed lost: {why}", 0, (event.event_id,)))


def _disqualified(state: SalesState, event: Event) -> None:
    why = _reason_text(event)
    state.stage, state.status = Stage.DISQUALIFIED, f"Disqualified – {why}"
    state.terminal_reason = why
    state.reasons.append(
        Reason("sales.disqualified", f"Disqualified by sales: {why}", 0, (event.event_id,))
    )


def _rejected(state: SalesState, event: Event) -> None:
    _recycle(state, event, _reason_text(event), "Rejected by sales")


# What each sales or intake fact does to the state (discovery also needs the SQL gate).
_APPLY: dict[EventType, Callable[[SalesState, Event], None]] = {
    EventType.SALES_ACCEPTED: _accepted,
    EventType.SALES_REJECTED: _rejected,
    EventType.APPOINTMENT_SCHEDULED: _scheduled,
    EventType.CLOSED_WON: _won,
    EventType.CLOSED_LOST: _lost,
    EventType.DISQUALIFIED: _disqualified,
}


def replay_sales(timeline: Sequence[Event], gate: SqlGate) -> SalesState:
    """Apply sales and intake events in order; terminal outcomes are final."""
    state = SalesState()
    for event in timeline:
        if event.type not in _SALES_FACTS:
            continue
        if state.stage in TERMINAL_STAGES:
            break
        if event.type is EventType.DISCOVERY_COMPLETED:
            _discovery(state, event, gate)
            continue
        apply = _APPLY.get(event.type)
        if apply is not None:
            apply(state, event)
    return state


def recheck_date(sales: SalesState, timeline: Sequence[Event], gate: SqlGate) -> datetime | None:
    """When an "MQL – no timeline" lead's timeline is asked again: ``no_timeline_recheck_days``
    after discovery found no timeline, or at once at the first engagement since then
    (:data:`RECHECK_SIGNALS`). ``None`` for a lead that is not waiting for a recheck."""
    if sales.status != NO_TIMELINE or sales.no_timeline_at is None:
        return None
    since = sales.no_timeline_at
    due = since + timedelta(days=gate.no_timeline_recheck_days)
    sooner = [
        e.occurred_at for e in timeline if e.type in RECHECK_SIGNALS and since < e.occurred_at
    ]
    return min([due, *sooner])
