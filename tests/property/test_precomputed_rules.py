"""What the engine works out once gives exactly what the plain definitions give.

Page rules compiled into one regular expression, value sets case-folded when a test is made,
and a timeline sorted by time and id alone when no event is given twice: each is checked
against the straightforward definition it replaces, on random input.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from functools import cache
from types import MappingProxyType
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.domain.conditions import FieldTest, Op, Scalar, evaluate
from leadflow.domain.events import Event, EventType, PropertyValue
from leadflow.domain.pages import PageMatcher, PageRule
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify, timeline_at
from leadflow.domain.scoring import page_category

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _playbook(name: str) -> Playbook:
    return load_playbook(name)


def _first_glob(url: str, rules: list[PageRule]) -> str | None:
    """The definition: the first rule whose glob matches the case-folded path."""
    path = (urlsplit(url).path or url).casefold()
    for rule in rules:
        if fnmatchcase(path, rule.pattern.casefold()):
            return rule.category
    return None


globs = st.text(alphabet="/abAB*?[]!-.", min_size=0, max_size=8)
urls = st.one_of(
    st.text(alphabet="/abAB-.?#", min_size=1, max_size=10),
    st.builds(lambda path: f"https://example.org{path}?q=1", st.text(alphabet="/abAB", max_size=8)),
)


@SETTINGS
@given(st.lists(globs, max_size=6), urls)
def test_page_rules_give_the_category_of_the_first_glob_that_matches_the_path(
    patterns: list[str], url: str
) -> None:
    rules = [PageRule(pattern, f"category{i}") for i, pattern in enumerate(patterns)]
    event = Event("e1", "L-1", EventType.PAGE_VIEWED, AS_OF, MappingProxyType({"url": url}))
    assert PageMatcher(rules).category_of_url(url) == _first_glob(url, rules)
    assert page_category(event, rules) == _first_glob(url, rules)


def test_a_category_given_on_the_event_wins_over_its_url() -> None:
    properties = MappingProxyType({"page_category": " Pricing ", "url": "/blog/x"})
    event = Event("e1", "L-1", EventType.PAGE_VIEWED, AS_OF, properties)
    assert PageMatcher([PageRule("/blog*", "blog")]).category(event) == "pricing"


scalars = st.one_of(
    st.sampled_from(["MA", " ma ", "Ma", "cardiology", "CARDIOLOGY ", "", "  ", "10", "1.5"]),
    st.integers(-2, 12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=20),
    st.booleans(),
)


def _folded(value: object) -> object:
    return value.strip().casefold() if isinstance(value, str) else value


@SETTINGS
@given(
    st.sampled_from([Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN]),
    st.lists(scalars, min_size=1, max_size=4),
    st.one_of(st.none(), scalars),
)
def test_equality_and_membership_compare_trimmed_case_folded_values(
    op: Op, values: list[Scalar], value: PropertyValue
) -> None:
    test = FieldTest("field", op, tuple(values))
    present = value is not None and not (isinstance(value, str) and not value.strip())
    folded = {_folded(v) for v in values}
    expected = {
        Op.EQUALS: _folded(value) == _folded(values[0]),
        Op.NOT_EQUALS: _folded(value) != _folded(values[0]),
        Op.IN: _folded(value) in folded,
        Op.NOT_IN: _folded(value) not in folded,
    }[op]
    assert evaluate(test, lambda _: value) == (present and expected)


def test_worked_out_values_are_not_part_of_a_tests_identity() -> None:
    assert FieldTest("state", Op.IN, ("MA",)) == FieldTest("state", Op.IN, ("MA",))
    assert repr(FieldTest("state", Op.IN, ("MA",))) == (
        "FieldTest(field='state', op=<Op.IN: 'in'>, values=('MA',))"
    )


def _timeline_by_definition(events: list[Event], as_of: datetime) -> list[Event]:
    """Sort on time, id, type and properties, then keep the first copy of every id."""
    ordered = sorted(
        (e for e in events if e.occurred_at <= as_of),
        key=lambda e: (*e.sort_key(), repr(sorted(e.properties.items(), key=str))),
    )
    seen: set[str] = set()
    kept = []
    for event in ordered:
        if event.event_id not in seen:
            seen.add(event.event_id)
            kept.append(event)
    return kept


@st.composite
def timelines_with_copies(draw: st.DrawFn) -> list[Event]:
    """Events of a few ids, many given more than once with another type, time or property."""
    events = []
    for _ in range(draw(st.integers(0, 14))):
        props: dict[str, PropertyValue] = {}
        if draw(st.booleans()):
            props["page_category"] = draw(st.sampled_from(["scheduling", "pricing", "careers"]))
        if draw(st.booleans()):
            props["service_line"] = draw(st.sampled_from(["cardiology", "oncology"]))
        events.append(
            Event(
                event_id=f"e{draw(st.integers(0, 5))}",
                lead_id="L-1",
                type=draw(st.sampled_from(list(EventType))),
                occurred_at=AS_OF - timedelta(hours=draw(st.integers(-2, 6))),
                properties=MappingProxyType(props),
            )
        )
    return events


@SETTINGS
@given(timelines_with_copies(), st.randoms())
def test_the_timeline_keeps_the_same_copy_of_a_repeated_event_whatever_the_order(
    events: list[Event], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    expected = _timeline_by_definition(events, AS_OF)
    assert timeline_at(events, AS_OF) == expected
    assert timeline_at(shuffled, AS_OF) == expected


@SETTINGS
@given(st.sampled_from(sorted(shipped_playbooks())), timelines_with_copies(), st.randoms())
def test_repeated_events_never_make_the_decision_depend_on_input_order(
    name: str, events: list[Event], rnd: random.Random
) -> None:
    playbook = _playbook(name)
    profile = LeadProfile("L-1", state="MA", service_line="cardiology", email="pat@example.com")
    shuffled = list(events)
    rnd.shuffle(shuffled)
    first = qualify(profile, events, playbook, AS_OF).to_record()
    assert qualify(profile, shuffled, playbook, AS_OF).to_record() == first
