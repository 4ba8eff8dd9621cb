"""Data-quality gates (issue 12, part 6): disposable emails, ZIP/state mismatches and junk
names, as warnings (0-point reasons, stage unchanged) or hard stops with a reason code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.adapters.reference import reference_data
from leadflow.domain.data_quality import junk_name, zip_state_mismatch
from leadflow.domain.decision import Decision
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.errors import PlaybookError

AS_OF = datetime(2026, 3, 6, 12, tzinfo=UTC)
GOOD = LeadProfile(
    "L",
    lead_type="patient",
    first_name="Dana",
    last_name="Example",
    email="dana@example.com",
    consent_email=True,
    service_line="cardiology",
    postal_code="02139",
    state="MA",
    country="US",
)

BASE = """\
id: quality
name: Quality
reasons:
  disqualify:
    - {code: disposable_email, label: Disposable email address}
    - {code: test_or_junk_record, label: Test or junk record}
    - {code: out_of_coverage_area, label: Outside the coverage area}
data_quality:
GATES
stages:
  mql: {fit_at_least: 0, intent_at_least: 0}
  sql: {requires: [{answer: need_confirmed, label: Need confirmed}]}
bands:
  - {name: all, next_action: Call}
"""


def _decide(profile: LeadProfile, gates: str) -> Decision:
    playbook = load_playbook_text(BASE.replace("GATES\n", gates), "quality.yaml")
    return qualify(profile, [], playbook, AS_OF)


def _rules(decision: Decision) -> dict[str, tuple[str, float]]:
    return {r.rule: (r.label, r.points) for r in decision.reasons}


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("test", None),
        ("Test", "Test"),
        ("asdf", "qwerty"),
        ("Mickey", "Mouse"),
        ("john", "DOE"),
        ("D", None),
        ("D", "X"),
        ("123", None),
        ("aaaa", "bbbb"),
    ],
)
def test_test_and_placeholder_names_are_junk(first: str | None, last: str | None) -> None:
    assert junk_name(first, last)


@pytest.mark.parametrize(
    ("first", "last"),
    [("Riley", "Test"), ("D", "Smith"), ("Jo", None), ("Li", "Na"), (None, None), ("Ana", "Ng")],
)
def test_real_looking_names_are_not_junk(first: str | None, last: str | None) -> None:
    assert not junk_name(first, last)


def test_a_zip_of_another_state_is_a_mismatch_only_for_a_us_lead() -> None:
    ref = reference_data()
    assert not zip_state_mismatch(GOOD, ref)
    assert zip_state_mismatch(replace(GOOD, postal_code="10001"), ref)
    assert not zip_state_mismatch(replace(GOOD, postal_code="10001", country="CA"), ref)
    assert not zip_state_mismatch(replace(GOOD, postal_code="99999"), ref)  # not a real ZIP
    assert not zip_state_mismatch(replace(GOOD, state=None), ref)


def test_a_warning_is_a_zero_point_reason_and_never_changes_the_stage() -> None:
    gate = "  disposable_email: {action: warn, reason: disposable_email}\n"
    clean = _decide(GOOD, gate)
    warned = _decide(replace(GOOD, email="dana@mailinator.com"), gate)
    assert (warned.stage, warned.status, warned.blockers) == (
        clean.stage,
        clean.status,
        clean.blockers,
    )
    assert warned.disqualification_reason is None
    label, points = _rules(warned)["data_quality.disposable_email"]
    assert points == 0
    assert label == (
        "Data quality warning: Email address at a disposable-address provider (disposable_email)"
    )
    assert "mailinator" not in label
    assert "data_quality.disposable_email" not in _rules(clean)


def test_a_subdomain_of_a_disposable_provider_is_disposable_too() -> None:
    gate = "  disposable_email: {action: warn, reason: disposable_email}\n"
    decision = _decide(replace(GOOD, email="x@inbox.mailinator.com"), gate)
    assert "data_quality.disposable_email" in _rules(decision)


def test_a_hard_stop_gate_disqualifies_with_its_code_and_label() -> None:
    gate = "  junk_name: {action: hard_stop, reason: test_or_junk_record, label: Junk}\n"
    decision = _decide(replace(GOOD, first_name="Mickey", last_name="Mouse"), gate)
    assert decision.stage.value == "disqualified"
    assert decision.disqualification_reason == "test_or_junk_record"
    assert _rules(decision)["data_quality.junk_name"] == ("Hard stop: Junk", 0)
    assert _decide(GOOD, gate).disqualification_reason is None


def test_the_zip_check_reads_the_state_first() -> None:
    gate = "  zip_state_mismatch: {action: hard_stop, reason: out_of_coverage_area}\n"
    assert _decide(replace(GOOD, state="Massachusetts"), gate).disqualification_reason is None
    moved = _decide(replace(GOOD, state="Massachusetts", postal_code="03301"), gate)
    assert moved.disqualification_reason == "out_of_coverage_area"


def test_a_gate_reason_must_be_a_declared_disqualify_code() -> None:
    gate = "  junk_name: {action: warn, reason: junk_recrd}\n"
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(BASE.replace("GATES\n", gate), "quality.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == (
        "quality.yaml",
        9,
        "data_quality.junk_name.reason",
    )
    assert problem.message == "reason `junk_recrd` is not a declared disqualify code"


def test_an_unknown_check_or_action_is_refused_with_a_suggestion() -> None:
    gate = "  disposable_emails: {action: block, reason: disposable_email}\n"
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(BASE.replace("GATES\n", gate), "quality.yaml")
    assert caught.value.problems[0].path.startswith("data_quality")


def test_the_quality_facts_can_be_tested_by_any_condition() -> None:
    text = BASE.replace("data_quality:\nGATES\n", "").replace(
        "stages:\n",
        "fit:\n  - id: throwaway\n    label: Throwaway address\n    points: -10\n"
        "    when: {field: quality.disposable_email, equals: true}\nstages:\n",
    )
    playbook = load_playbook_text(text, "quality.yaml")
    decision = qualify(replace(GOOD, email="a@mailinator.com"), [], playbook, AS_OF)
    assert _rules(decision)["throwaway"][1] == -10


def test_shipped_playbooks_warn_on_disposable_email_and_stop_junk_names() -> None:
    playbook = load_playbook("specialty-clinic")
    warned = qualify(replace(GOOD, email="dana@mailinator.com"), [], playbook, AS_OF)
    assert warned.disqualification_reason is None
    assert "data_quality.disposable_email" in _rules(warned)
    junk = qualify(replace(GOOD, first_name="test", last_name="test"), [], playbook, AS_OF)
    assert junk.disqualification_reason == "test_or_junk_record"
