"""Reason codes declared in the playbook: defaults, the checks, and what each shipped
playbook declares for its audience."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text, shipped_playbooks
from leadflow.domain.reasons import (
    DEFAULT_REASONS,
    ReasonCode,
    ReasonKind,
    is_reason_code,
    normalise_reason,
)
from leadflow.errors import PlaybookError

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "playbooks.md"

BASE = """\
id: reasons
name: Reasons
hard_stops:
  - id: out_of_area
    label: Outside MA, NH and RI
    reason: out_of_coverage_area
    when: {field: state, not_in: [MA, NH, RI]}
  - id: student
    label: A student
    reason: student_enquiry
    when: {field: org_type, equals: student}
stages:
  mql: {fit_at_least: 0, intent_at_least: 0}
  sql: {requires: [{answer: need_confirmed, label: Need confirmed}]}
bands:
  - {name: all, next_action: Call}
"""

DECLARED = """\
reasons:
  reject:
    - {code: not_ready, label: Not ready yet}
    - {code: timing_far_out, label: Timing is far out}
  disqualify:
    - {code: out_of_coverage_area, label: Outside the coverage area}
    - {code: student_enquiry, label: A student}
    - {code: timing_far_out, label: Timing is far out}
  lose:
    - {code: no_budget, label: No budget}
"""


def _with(reasons: str) -> str:
    return BASE.replace("stages:\n", reasons + "stages:\n")


def _problems(text: str) -> list[tuple[int | None, str, str, str | None]]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, "reasons.yaml")
    return [(p.line, p.path, p.message, p.suggestion) for p in caught.value.problems]


def test_a_playbook_without_reasons_gets_the_defaults_with_the_seeds_reasons() -> None:
    playbook = load_playbook_text(BASE, "reasons.yaml")
    assert playbook.reasons.reject == DEFAULT_REASONS.reject
    assert playbook.reasons.lose == DEFAULT_REASONS.lose
    seeds = {"not_decision_role", "timing_far_out"}  # seed 003's disqualification reasons
    assert seeds <= set(playbook.reasons.codes(ReasonKind.DISQUALIFY))
    assert seeds <= set(playbook.reasons.codes(ReasonKind.REJECT))
    assert "no_active_need" in playbook.reasons.codes(ReasonKind.REJECT)  # discovery recycles


def test_a_default_disqualify_list_takes_in_the_hard_stops_codes_with_their_labels() -> None:
    playbook = load_playbook_text(BASE, "reasons.yaml")
    disqualify = playbook.reasons.disqualify
    assert disqualify[: len(DEFAULT_REASONS.disqualify)] == DEFAULT_REASONS.disqualify
    assert disqualify[-1] == ReasonCode("student_enquiry", "A student")
    codes = [r.code for r in disqualify]
    assert codes.count("out_of_coverage_area") == 1  # already a default: not added twice


def test_declared_kinds_replace_the_defaults_and_the_version_changes() -> None:
    plain = load_playbook_text(BASE, "reasons.yaml")
    declared = load_playbook_text(_with(DECLARED), "reasons.yaml")
    assert declared.reasons.codes(ReasonKind.REJECT) == ["not_ready", "timing_far_out"]
    assert declared.reasons.codes(ReasonKind.LOSE) == ["no_budget"]
    assert declared.reasons.codes(ReasonKind.DISQUALIFY) == [
        "out_of_coverage_area",
        "student_enquiry",
        "timing_far_out",
    ]
    assert declared.version != plain.version
    only_lose = load_playbook_text(
        _with("reasons:\n  lose:\n    - {code: no_budget, label: No budget}\n"), "r.yaml"
    )
    assert only_lose.reasons.reject == DEFAULT_REASONS.reject  # the kinds left out


def test_a_hard_stop_whose_code_is_not_declared_is_an_error_at_its_line() -> None:
    text = _with(DECLARED.replace("    - {code: student_enquiry, label: A student}\n", ""))
    (problem,) = _problems(text)
    line, path, message, suggestion = problem
    assert (line, path) == (10, "hard_stops[1].reason")
    assert message == "reason `student_enquiry` is not a declared disqualify code"
    assert suggestion == "add `- {code: student_enquiry, label: …}` under reasons.disqualify"
    typo = _problems(_with(DECLARED).replace("reason: out_of_coverage_area", "reason: out_of_area"))
    assert typo[0][1:] == (
        "hard_stops[0].reason",
        "reason `out_of_area` is not a declared disqualify code",
        "did you mean `out_of_coverage_area`?",
    )


def test_codes_are_unique_within_a_kind_and_one_code_has_one_label() -> None:
    twice = DECLARED.replace(
        "    - {code: no_budget, label: No budget}\n",
        "    - {code: no_budget, label: No budget}\n    - {code: no_budget, label: No budget}\n",
    )
    ((_, path, message, _),) = _problems(_with(twice))
    assert (path, message) == (
        "reasons.lose[1].code",
        "lose code `no_budget` is already used at reasons.lose[0]",
    )
    relabelled = DECLARED.replace(
        "    - {code: timing_far_out, label: Timing is far out}\n  lose:",
        "    - {code: timing_far_out, label: Much later}\n  lose:",
    )
    ((_, path, message, suggestion),) = _problems(_with(relabelled))
    assert path == "reasons.disqualify[2].label"
    assert message == "code `timing_far_out` is labelled differently at reasons.reject[1]"
    assert suggestion == "give one code one label in every kind, or use another code"


@pytest.mark.parametrize(
    ("code", "hint"),
    [("Not Ready", "did you mean `not_ready`?"), ("9_lives", None), ("x" * 65, None)],
)
def test_reason_codes_are_snake_case(code: str, hint: str | None) -> None:
    text = _with(DECLARED.replace("code: not_ready", f"code: {code}"))
    ((_, path, message, suggestion),) = _problems(text)
    assert path == "reasons.reject[0].code"
    assert "snake_case" in message
    assert suggestion == hint


def test_a_declared_kind_may_not_be_empty_nor_carry_unknown_keys() -> None:
    empty = _problems(_with("reasons:\n  lose: []\n"))
    assert [(p[1], p[2]) for p in empty] == [("reasons.lose", "must not be empty")]
    unknown = _problems(_with("reasons:\n  recycle:\n    - {code: x, label: X}\n"))
    assert unknown[0][1] == "reasons"
    assert unknown[0][2] == "unknown field `recycle`"


def test_what_people_type_is_normalised_to_a_code() -> None:
    assert normalise_reason("Not ready") == "not_ready"
    assert normalise_reason("  NOT-READY \t") == "not_ready"
    assert normalise_reason("not   ready") == "not_ready"
    assert normalise_reason("not ready!") == "not_ready!"
    assert is_reason_code("not_ready")
    assert not is_reason_code("not_ready!")
    found = DEFAULT_REASONS.match(ReasonKind.REJECT, " Not Ready ")
    assert found == ReasonCode("not_ready", "Not ready yet")
    assert DEFAULT_REASONS.match(ReasonKind.LOSE, "not ready") is None  # not a lose code
    assert DEFAULT_REASONS.find("No budget") == ReasonCode("no_budget", "No budget")


def test_every_default_reason_is_documented_with_its_label() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    for kind in ReasonKind:
        for reason in DEFAULT_REASONS.of(kind):
            row = f"| `{kind.value}` | `{reason.code}` | {reason.label} |"
            assert row in reference, f"docs/playbooks.md lacks the default {row}"


@pytest.mark.parametrize("name", shipped_playbooks())
def test_every_shipped_playbook_declares_its_reasons_and_its_hard_stops_codes(name: str) -> None:
    playbook = load_playbook(name)
    assert playbook.reasons != DEFAULT_REASONS
    disqualify = playbook.reasons.codes(ReasonKind.DISQUALIFY)
    assert {h.reason_code for h in playbook.hard_stops} <= set(disqualify)
    for kind in ReasonKind:
        assert playbook.reasons.of(kind), (name, kind)
        assert all(is_reason_code(code) for code in playbook.reasons.codes(kind))


def test_the_shipped_lists_fit_their_audience() -> None:
    clinic = load_playbook("specialty-clinic").reasons
    b2b = load_playbook("healthtech-b2b").reasons
    referral = load_playbook("referral-partner").reasons
    assert "insurance_not_accepted" in clinic.codes(ReasonKind.DISQUALIFY)
    assert "not_decision_role" not in clinic.codes(ReasonKind.DISQUALIFY)  # patients decide
    assert {"not_decision_role", "timing_far_out"} <= set(b2b.codes(ReasonKind.DISQUALIFY))
    assert {"not_target_buyer", "no_evaluation_plan"} <= set(b2b.codes(ReasonKind.REJECT))
    assert "no_budget" in b2b.codes(ReasonKind.LOSE)
    assert "intake_requirements_not_met" in referral.codes(ReasonKind.DISQUALIFY)
    assert "refers_elsewhere" in referral.codes(ReasonKind.LOSE)
