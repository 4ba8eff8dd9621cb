"""The batch use case: events grouped by lead, decisions in lead order, leftovers reported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.domain.conditions import FieldTest, Op
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import (
    EventMatch,
    FitCriterion,
    IntentSignal,
    MqlGate,
    Playbook,
    Repeat,
)
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError
from leadflow.services.qualification import UnmatchedEvents, group_by_lead, qualify_batch

AS_OF = datetime(2026, 3, 6, 12, tzinfo=UTC)

PLAYBOOK = Playbook(
    id="tiny",
    name="Tiny test playbook",
    version="test",
    fit=(FitCriterion("in_area", "Lives in MA", FieldTest("state", Op.EQUALS, ("MA",)), True, 10),),
    signals=(
        IntentSignal(
            "form",
            "Submitted a form",
            EventMatch(frozenset({EventType.FORM_SUBMITTED})),
            20,
            Repeat.ONCE,
            None,
            None,
        ),
    ),
    mql=MqlGate(fit_at_least=10, intent_at_least=20),
)


def _form(event_id: str, lead_id: str, days_ago: int = 1) -> Event:
    return Event(event_id, lead_id, EventType.FORM_SUBMITTED, AS_OF - timedelta(days=days_ago))


def test_each_lead_is_decided_with_its_own_events_in_lead_order() -> None:
    leads = [LeadProfile("L-2", state="MA"), LeadProfile("L-1", state="MA")]
    events = [_form("E-1", "L-1")]
    decisions = list(qualify_batch(leads, events, PLAYBOOK, AS_OF))
    assert [(d.lead_id, d.stage) for d in decisions] == [("L-2", Stage.NEW), ("L-1", Stage.MQL)]
    assert decisions[1].reasons[-1].evidence == ("E-1",)


def test_events_need_not_be_sorted_by_lead_or_time() -> None:
    leads = [LeadProfile("L-1", state="MA"), LeadProfile("L-2", state="MA")]
    events = [_form("E-3", "L-2", 2), _form("E-1", "L-1", 3), _form("E-2", "L-2", 9)]
    decisions = list(qualify_batch(leads, events, PLAYBOOK, AS_OF))
    assert [d.stage for d in decisions] == [Stage.MQL, Stage.MQL]
    assert decisions[1].reasons[-1].evidence == ("E-3",)


def test_events_for_leads_not_in_the_batch_are_reported_not_dropped() -> None:
    leads = [LeadProfile("L-1", state="MA")]
    events = [_form("E-1", "L-9"), _form("E-2", "L-1"), _form("E-3", "L-8"), _form("E-4", "L-9")]
    batch = qualify_batch(leads, events, PLAYBOOK, AS_OF)
    assert [d.lead_id for d in batch] == ["L-1"]
    assert batch.unmatched == (
        UnmatchedEvents("L-9", ("E-1", "E-4")),
        UnmatchedEvents("L-8", ("E-3",)),
    )


def test_unmatched_events_are_known_only_after_the_last_decision() -> None:
    batch = qualify_batch([LeadProfile("L-1")], [], PLAYBOOK, AS_OF)
    with pytest.raises(LeadflowError, match="only after the last decision"):
        _ = batch.unmatched
    list(batch)
    assert batch.unmatched == ()


def test_the_batch_counts_decisions_by_stage() -> None:
    leads = [LeadProfile("L-1", state="MA"), LeadProfile("L-2"), LeadProfile("L-3", state="MA")]
    batch = qualify_batch(leads, [_form("E-1", "L-1")], PLAYBOOK, AS_OF)
    list(batch)
    assert batch.qualified == 3
    assert batch.stage_counts == {Stage.MQL: 1, Stage.NEW: 2}


def test_leads_stream_one_decision_at_a_time() -> None:
    pulled: list[str] = []

    def leads() -> Iterator[LeadProfile]:
        for lead_id in ("L-1", "L-2"):
            pulled.append(lead_id)
            yield LeadProfile(lead_id)

    batch = qualify_batch(leads(), [], PLAYBOOK, AS_OF)
    assert next(batch).lead_id == "L-1"
    assert pulled == ["L-1"]


def test_a_naive_as_of_is_refused_at_once() -> None:
    with pytest.raises(LeadflowError, match="timezone-aware"):
        qualify_batch([], [], PLAYBOOK, datetime(2026, 3, 6))  # noqa: DTZ001 (the point)


def test_grouping_keeps_input_order_within_each_lead() -> None:
    events = [_form("E-1", "L-1"), _form("E-2", "L-2"), _form("E-3", "L-1")]
    grouped = group_by_lead(events)
    assert list(grouped) == ["L-1", "L-2"]
    assert [e.event_id for e in grouped["L-1"]] == ["E-1", "E-3"]
