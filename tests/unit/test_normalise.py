"""Reading values before rules (issue 12, part 2): the reference tables, synonyms, the
playbook checks of ``synonyms:``, and the engine's readings as 0-point reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.adapters.reference import reference_data
from leadflow.domain.events import Event, EventType
from leadflow.domain.normalise import (
    NO_REFERENCE_DATA,
    Synonyms,
    fold,
    normalise_profile,
)
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.errors import PlaybookError
from leadflow.services.store.lifecycle import service_line_read

AS_OF = datetime(2026, 3, 6, 12, tzinfo=UTC)
SYNONYMS = Synonyms.of({"service_line": {"sleep_medicine": ("Sleep", "Sleep Clinic")}})

BASE = """\
id: values
name: Values
hard_stops:
  - id: out_of_area
    label: Outside MA, NH and RI
    reason: out_of_coverage_area
    when: {field: state, not_in: [MA, NH, RI]}
  - id: out_of_scope
    label: Not a service line we offer
    reason: outside_service_scope
    when: {field: service_line, not_in: [cardiology, sleep_medicine]}
SYNONYMS
stages:
  mql: {fit_at_least: 0, intent_at_least: 0}
  sql: {requires: [{answer: need_confirmed, label: Need confirmed}]}
bands:
  - {name: all, next_action: Call}
"""


def _problems(synonyms: str) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(BASE.replace("SYNONYMS\n", synonyms), "values.yaml")
    return [(p.line, p.path, p.message, p.suggestion) for p in caught.value.problems]


@pytest.mark.parametrize(
    "text", ["Massachusetts", "Mass.", "mass", "MA", "Ma.", "ma", " massachusetts "]
)
def test_every_common_spelling_of_massachusetts_reads_as_ma(text: str) -> None:
    assert reference_data().state_code(text) == "MA"


@pytest.mark.parametrize(
    ("text", "code"),
    [("N.H.", "NH"), ("new-hampshire", "NH"), ("R.I.", "RI"), ("D.C.", "DC"), ("Calif.", "CA")],
)
def test_other_states_read_by_name_code_and_ap_abbreviation(text: str, code: str) -> None:
    assert reference_data().state_code(text) == code


@pytest.mark.parametrize(
    "text", ["United States", "USA", "U.S.", "U.S.A.", "us", "United States of America"]
)
def test_the_united_states_read_as_us(text: str) -> None:
    assert reference_data().country_code(text) == "US"


def test_countries_read_as_iso_alpha_2_and_unknown_text_is_left_alone() -> None:
    ref = reference_data()
    assert [ref.country_code(c) for c in ("Canada", "DEU", "United Kingdom", "UK")] == [
        "CA",
        "DE",
        "GB",
        "GB",
    ]
    assert ref.country_code("Atlantis") is None
    assert ref.state_code("Ontario") is None


def test_zip_codes_and_disposable_domains_come_from_the_packages() -> None:
    ref = reference_data()
    assert ref.zip_state("02139") == "MA"
    assert ref.zip_state("03301-1234") == "NH"
    assert ref.zip_state("99999") is None
    assert ref.zip_state("SW1A 1AA") is None
    assert ref.disposable_domain("mailinator.com")
    assert not ref.disposable_domain("example.com")


def test_a_synonym_and_its_value_spelled_otherwise_read_as_the_value() -> None:
    assert [
        SYNONYMS.value("service_line", t) for t in ("Sleep Medicine", "sleep", "SLEEP-clinic")
    ] == [
        "sleep_medicine",
        "sleep_medicine",
        "sleep_medicine",
    ]
    assert SYNONYMS.value("service_line", "cardiology") is None
    assert SYNONYMS.value("specialty", "sleep") is None


def test_normalising_keeps_a_profile_without_anything_to_read_as_it_is() -> None:
    profile = LeadProfile("L", state="MA", country="US", service_line="sleep_medicine")
    assert normalise_profile(profile, SYNONYMS, reference_data()) == (profile, ())


def test_without_reference_data_only_synonyms_are_read() -> None:
    profile = LeadProfile("L", state="Massachusetts", service_line="Sleep")
    read, readings = normalise_profile(profile, SYNONYMS, NO_REFERENCE_DATA)
    assert (read.state, read.service_line) == ("Massachusetts", "sleep_medicine")
    assert [r.label for r in readings] == ["service_line `Sleep` read as sleep_medicine"]


_TEXT = st.one_of(
    st.sampled_from(
        ["Massachusetts", "Mass.", "ma", "N.H.", "USA", "U.S.", "Sleep", "sleep medicine"]
    ),
    st.text(max_size=12),
)


@given(state=_TEXT, country=_TEXT, service_line=_TEXT)
def test_normalising_twice_is_normalising_once(state: str, country: str, service_line: str) -> None:
    profile = LeadProfile(
        "L", state=state or None, country=country or None, service_line=service_line or None
    )
    once, _ = normalise_profile(profile, SYNONYMS, reference_data())
    twice, readings = normalise_profile(once, SYNONYMS, reference_data())
    assert twice == once
    assert readings == ()


def test_a_profile_update_is_read_too() -> None:
    playbook = load_playbook("specialty-clinic")
    profile = LeadProfile(
        "L",
        lead_type="patient",
        email="l@example.com",
        consent_email=True,
        state="MA",
        service_line="cardiology",
    )
    moved = Event("e1", "L", EventType.PROFILE_UPDATED, AS_OF, {"state": "New Hampshire"})
    decision = qualify(profile, [moved], playbook, AS_OF)
    assert decision.disqualification_reason is None
    assert "state `New Hampshire` read as NH" in [r.label for r in decision.reasons]


def test_each_reading_is_a_reason_with_no_points_named_by_field() -> None:
    playbook = load_playbook("specialty-clinic")
    profile = LeadProfile("L", lead_type="patient", state="Mass.", service_line="Sleep Medicine")
    reasons = {r.rule: r for r in qualify(profile, [], playbook, AS_OF).reasons}
    assert reasons["normalised.state"].points == 0
    assert reasons["normalised.state"].label == "state `Mass.` read as MA"
    assert reasons["normalised.service_line"].label == (
        "service_line `Sleep Medicine` read as sleep_medicine"
    )


def test_a_synonym_for_a_value_no_rule_tests_is_an_error_at_its_line() -> None:
    problems = _problems("synonyms:\n  service_line:\n    sleep_medecine: [Sleep]\n")
    assert len(problems) == 1
    line, path, message, suggestion = problems[0]
    assert (line, path) == (14, "synonyms.service_line.sleep_medecine")
    assert "`sleep_medecine` is not a value any rule tests on service_line" in message
    assert suggestion == "did you mean `sleep_medicine`?"


def test_a_synonym_on_a_field_no_rule_tests_is_an_error() -> None:
    problems = _problems("synonyms:\n  specialty:\n    sleep_medicine: [Sleep]\n")
    assert problems[0][1] == "synonyms.specialty.sleep_medicine"
    assert "no rule tests specialty" in (problems[0][3] or "")


def test_one_variant_for_two_values_is_an_error_at_the_second() -> None:
    problems = _problems(
        "synonyms:\n  service_line:\n    cardiology: [Heart, sleep]\n    sleep_medicine: [Sleep]\n"
    )
    assert [(p[0], p[1]) for p in problems] == [(15, "synonyms.service_line.sleep_medicine[0]")]
    assert "`Sleep` already means `cardiology` for service_line" in problems[0][2]


def test_synonyms_on_a_field_without_synonyms_support_are_refused() -> None:
    problems = _problems("synonyms:\n  email:\n    x: [y]\n")
    assert problems[0][1].startswith("synonyms")


def test_synonyms_change_the_playbook_version() -> None:
    plain = load_playbook_text(BASE.replace("SYNONYMS\n", ""), "values.yaml")
    with_synonyms = load_playbook_text(
        BASE.replace("SYNONYMS\n", "synonyms:\n  service_line:\n    sleep_medicine: [Sleep]\n"),
        "values.yaml",
    )
    assert plain.version != with_synonyms.version


def test_fold_ignores_case_spaces_dots_hyphens_and_underscores() -> None:
    assert {
        fold(t) for t in ("Sleep Medicine", "sleep-medicine", "sleep_medicine", "SLEEP.MEDICINE")
    } == {"sleepmedicine"}


def test_nurture_reads_the_service_line_as_the_decision_did() -> None:
    playbook = load_playbook("specialty-clinic")
    profile = LeadProfile("L", service_line="Sleep Clinic")
    assert service_line_read(playbook, profile) == "sleep_medicine"
