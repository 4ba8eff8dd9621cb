"""Invariants of the engine, checked on random leads and timelines for every shipped playbook."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.domain.events import ENGAGEMENT_TYPES, Event, EventType, PropertyValue
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.scoring import event_matches, page_category
from leadflow.domain.stages import can_transition

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _playbook(name: str) -> Playbook:
    return load_playbook(name)


playbook_names = st.sampled_from(sorted(shipped_playbooks()))

profiles = st.builds(
    LeadProfile,
    lead_id=st.just("L-1"),
    email=st.sampled_from([None, "pat@example.com", "broken"]),
    phone=st.sampled_from([None, "+16175550100"]),
    state=st.sampled_from([None, "MA", "NH", "RI", "NY"]),
    country=st.sampled_from([None, "US", "CA"]),
    service_line=st.sampled_from([None, "cardiology", "pulmonology", "oncology"]),
    specialty=st.sampled_from([None, "primary_care", "dentistry"]),
    org_type=st.sampled_from([None, "practice", "medical_group", "vendor"]),
    role=st.sampled_from([None, "practice_manager", "administrator"]),
    consent_email=st.sampled_from([None, True, False]),
)

ENGAGEMENT = sorted(ENGAGEMENT_TYPES)
CATEGORIES = ["scheduling", "eligibility", "pricing", "service", "referral", "careers", "blog"]


@st.composite
def engagement_events(draw: st.DrawFn, before: datetime = AS_OF) -> Event:
    kind = draw(st.sampled_from(ENGAGEMENT))
    props: dict[str, PropertyValue] = {}
    if kind is EventType.PAGE_VIEWED:
        props["page_category"] = draw(st.sampled_from(CATEGORIES))
    if kind is EventType.FORM_SUBMITTED:
        props["service_line"] = draw(st.sampled_from(["cardiology", "dermatology"]))
    if kind is EventType.CALL_INBOUND:
        props["duration_s"] = draw(st.integers(0, 900))
    age = draw(st.integers(0, 90 * 24 * 60))
    return Event(
        event_id=f"e{draw(st.integers(0, 10**9))}",
        lead_id="L-1",
        type=kind,
        occurred_at=before - timedelta(minutes=age),
        properties=MappingProxyType(props),
    )


@st.composite
def any_events(draw: st.DrawFn, after: datetime | None = None) -> Event:
    """Any event type, including sales facts, with the properties they carry."""
    kind = draw(st.sampled_from(list(EventType)))
    props: dict[str, PropertyValue] = {}
    if kind is EventType.PAGE_VIEWED:
        props["page_category"] = draw(st.sampled_from(CATEGORIES))
    elif kind is EventType.DISCOVERY_COMPLETED:
        for name in ("need_confirmed", "eligibility_confirmed"):
            value = draw(st.sampled_from([None, True, False]))
            if value is not None:
                props[name] = value
        for name in ("decision_path", "timeline", "next_step", "no_timeline_reason"):
            if draw(st.booleans()):
                props[name] = "given"
    elif kind in (EventType.CONSENT_GRANTED, EventType.CONSENT_REVOKED, EventType.UNSUBSCRIBED):
        props["channel"] = draw(st.sampled_from(["email", "sms", "phone"]))
    elif kind is EventType.PROFILE_UPDATED:
        props["state"] = draw(st.sampled_from(["MA", "NY", "RI"]))
    elif kind in (EventType.SALES_REJECTED, EventType.CLOSED_LOST, EventType.DISQUALIFIED):
        props["reason"] = "no_budget"
    minutes = draw(st.integers(1, 90 * 24 * 60))
    when = after + timedelta(minutes=minutes) if after else AS_OF - timedelta(minutes=minutes)
    return Event(
        event_id=f"x{draw(st.integers(0, 10**9))}",
        lead_id="L-1",
        type=kind,
        occurred_at=when,
        properties=MappingProxyType(props),
    )


def _is_negative(playbook: Playbook, event: Event) -> bool:
    category = page_category(event, playbook.page_rules)
    return any(s.points < 0 and event_matches(s.match, event, category) for s in playbook.signals)


@SETTINGS
@given(playbook_names, profiles, st.lists(any_events(), max_size=25), st.randoms())
def test_decision_never_depends_on_the_order_events_are_given_in(
    name: str, profile: LeadProfile, events: list[Event], rnd: random.Random
) -> None:
    playbook = _playbook(name)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    first = qualify(profile, events, playbook, AS_OF).to_record()
    second = qualify(profile, shuffled, playbook, AS_OF).to_record()
    assert first == second


@SETTINGS
@given(playbook_names, profiles, st.lists(any_events(), max_size=20), engagement_events())
def test_adding_a_positive_engagement_event_never_lowers_the_intent_score(
    name: str, profile: LeadProfile, events: list[Event], extra: Event
) -> None:
    playbook = _playbook(name)
    if _is_negative(playbook, extra):
        extra = Event(extra.event_id, extra.lead_id, EventType.FORM_SUBMITTED, extra.occurred_at)
    before = qualify(profile, events, playbook, AS_OF).intent_score
    after = qualify(profile, [*events, extra], playbook, AS_OF).intent_score
    assert after >= before


@SETTINGS
@given(
    playbook_names,
    profiles,
    st.lists(any_events(), max_size=25),
    st.integers(0, 3 * 365),
)
def test_decay_never_makes_a_score_or_a_signal_change_sign(
    name: str, profile: LeadProfile, events: list[Event], days_later: int
) -> None:
    playbook = _playbook(name)
    decision = qualify(profile, events, playbook, AS_OF + timedelta(days=days_later))
    assert decision.intent_score >= 0
    assert decision.fit_score >= 0 or any(c.points < 0 for c in playbook.fit)
    signs = {s.id: s.points for s in playbook.signals} | {b.id: b.points for b in playbook.bonuses}
    for reason in decision.reasons:
        if reason.rule in signs:
            assert reason.points * signs[reason.rule] >= 0, reason


@SETTINGS
@given(
    playbook_names,
    profiles,
    st.lists(any_events(), max_size=20),
    st.lists(any_events(after=AS_OF), min_size=1, max_size=10),
)
def test_events_after_as_of_never_change_the_decision(
    name: str, profile: LeadProfile, events: list[Event], later: list[Event]
) -> None:
    playbook = _playbook(name)
    without = qualify(profile, events, playbook, AS_OF).to_record()
    with_later = qualify(profile, [*events, *later], playbook, AS_OF).to_record()
    assert without == with_later


@SETTINGS
@given(playbook_names, profiles, st.lists(any_events(), min_size=1, max_size=25))
def test_stage_only_ever_moves_along_allowed_transitions(
    name: str, profile: LeadProfile, events: list[Event]
) -> None:
    playbook = _playbook(name)
    ordered = sorted(events, key=Event.sort_key)
    previous = qualify(profile, [], playbook, ordered[0].occurred_at - timedelta(seconds=1)).stage
    for event in ordered:
        stage = qualify(profile, ordered, playbook, event.occurred_at).stage
        assert can_transition(previous, stage), (previous, stage, event.type)
        previous = stage
