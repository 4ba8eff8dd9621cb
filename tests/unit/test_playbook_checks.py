"""Whole-playbook checks: each fires on the rule at fault, with a fix, and only then."""

from __future__ import annotations

import pytest

from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.errors import PlaybookError, PlaybookProblem

# A valid playbook; each test breaks one thing. Line numbers are asserted below.
BASE = """\
id: checks
name: Checks
fit:
  - id: service
    label: Service line offered
    must_have: true
    points: 30
    when: {field: service_line, in: [cardiology, dermatology]}
  - id: in_area
    label: In the coverage area
    must_have: true
    points: 25
    when: {field: state, in: [MA, NH, RI]}
intent:
  signals:
    - id: scheduling_page
      label: Viewed a scheduling page
      on: {type: page_viewed, page_category: scheduling}
      points: 10
      cap: 30
    - id: form
      label: Submitted a form
      on: {type: form_submitted}
      points: 20
      repeat: once
  bonuses:
    - id: burst
      label: 3 scheduling views in a week
      on: {type: page_viewed, page_category: scheduling}
      at_least: 3
      within_days: 7
      points: 10
hard_stops:
  - id: out_of_area
    label: Out of area
    reason: out_of_coverage_area
    when: {field: state, not_in: [MA, NH, RI]}
stages:
  mql:
    fit_at_least: 50
    intent_at_least: 40
  sql:
    requires:
      - {answer: need_confirmed, label: Need confirmed}
      - {answer: timeline, label: Timeline}
bands:
  - {name: high, fit_at_least: 50, intent_at_least: 40, next_action: Call}
  - {name: mid, fit_at_least: 30, intent_at_least: 10, next_action: Email}
  - {name: low, next_action: Nurture}
routing:
  queues:
    - id: scheduling
      label: Scheduling
      outreach: phone
      sla: {mql: "1 business day", sql: "1 business hour"}
    - id: education
      label: Education
      outreach: email
      sla: {mql: "2 business days"}
  rules:
    - {queue: scheduling, stages: [sql]}
    - {queue: scheduling, stages: [mql], bands: [high]}
    - {queue: education, stages: [mql]}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def problems_of(text: str) -> list[PlaybookProblem]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, "checks.yaml")
    return caught.value.problems


def only_problem(text: str) -> PlaybookProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_base_playbook_passes_every_check() -> None:
    playbook = load_playbook_text(BASE, "checks.yaml")

    assert (playbook.max_fit(), playbook.max_intent()) == (55, 60)


def test_rule_ids_must_be_unique_across_the_whole_playbook() -> None:
    text = BASE.replace("  - id: out_of_area", "  - id: form")

    problem = only_problem(text)

    assert (problem.line, problem.column) == (34, 5)
    assert problem.path == "hard_stops[0].id"
    assert problem.message == "id `form` is already used at intent.signals[1]"
    assert problem.suggestion == "rename one of them; each id must be unique"


def test_ids_with_the_engines_prefixes_are_rejected() -> None:
    problem = only_problem(BASE.replace("id: burst", "id: sales.burst"))

    assert (problem.line, problem.path) == (27, "intent.bonuses[0].id")
    assert problem.message == "id `sales.burst` uses a prefix reserved for the engine's own reasons"


def test_band_names_must_be_unique() -> None:
    problem = only_problem(BASE.replace("{name: mid,", "{name: high,"))

    assert (problem.line, problem.path) == (48, "bands[1].name")
    assert problem.message == "band name `high` is already used at bands[0]"


def test_unreachable_fit_threshold_is_an_error_with_the_reachable_maximum() -> None:
    problem = only_problem(
        BASE.replace("fit_at_least: 50\n", "fit_at_least: 80\n").replace(
            "{name: high, fit_at_least: 50", "{name: high, fit_at_least: 55"
        )
    )

    assert (problem.line, problem.column) == (40, 5)
    assert problem.path == "stages.mql.fit_at_least"
    assert problem.message == "MQL needs fit ≥ 80 but the most any lead can score is 55"
    assert problem.suggestion == "lower fit_at_least to at most 55 or add fit points"


def test_unreachable_intent_threshold_is_an_error_without_a_fast_track() -> None:
    problem = only_problem(BASE.replace("intent_at_least: 40\n", "intent_at_least: 70\n"))

    assert (problem.line, problem.path) == (41, "stages.mql.intent_at_least")
    assert problem.message == "MQL needs intent ≥ 70 but the most any lead can score is 60"


def test_unreachable_intent_threshold_is_allowed_with_a_fast_track() -> None:
    text = BASE.replace(
        "intent_at_least: 40\n",
        "intent_at_least: 70\n"
        "    fast_track:\n"
        "      - {id: asked, label: Asked for an appointment, on: {type: appointment_requested}}\n",
    )

    assert load_playbook_text(text, "checks.yaml").mql.intent_at_least == 70


def test_any_intent_threshold_is_reachable_when_a_signal_is_uncapped() -> None:
    text = BASE.replace("      cap: 30\n", "").replace(
        "intent_at_least: 40\n", "intent_at_least: 500\n"
    )

    assert load_playbook_text(text, "checks.yaml").max_intent() is None


def test_must_haves_that_can_never_both_hold_make_mql_unreachable() -> None:
    text = BASE.replace(
        "when: {field: state, in: [MA, NH, RI]}",
        "when: {all: [{field: service_line, equals: Orthopedics}, {field: state, equals: MA}]}",
    )

    problem = only_problem(text)

    assert (problem.line, problem.path) == (13, "fit[1].when")
    assert problem.message == (
        "MQL cannot be reached: must-haves `service` and `in_area` can never both hold "
        "(they need different values of `service_line`)"
    )
    assert problem.suggestion == "make one of them a nice-to-have (must_have: false) or merge them"


@pytest.mark.parametrize(
    "second",
    [
        "when: {field: service_line, equals: DERMATOLOGY}",  # overlaps, case-insensitively
        "when: {field: service_line, not_in: [cardiology, dermatology]}",  # not equals/in
        "when: {any: [{field: service_line, equals: ortho}, {field: state, equals: MA}]}",
    ],
)
def test_must_haves_that_can_both_hold_pass(second: str) -> None:
    text = BASE.replace("when: {field: state, in: [MA, NH, RI]}", second)

    assert len(load_playbook_text(text, "checks.yaml").fit) == 2


def test_a_contradicting_nice_to_have_is_not_an_error() -> None:
    text = BASE.replace("    must_have: true\n    points: 25", "    points: 25").replace(
        "when: {field: state, in: [MA, NH, RI]}", "when: {field: service_line, equals: ortho}"
    )
    text = text.replace("fit_at_least: 50\n", "fit_at_least: 30\n").replace(
        "{name: high, fit_at_least: 50", "{name: high, fit_at_least: 30"
    )

    assert load_playbook_text(text, "checks.yaml").fit[1].must_have is False


def test_the_last_band_must_be_a_catch_all() -> None:
    problem = only_problem(
        BASE.replace("{name: low, next_action", "{name: low, fit_at_least: 1, next_action")
    )

    assert (problem.line, problem.path) == (49, "bands[2]")
    assert problem.message == (
        "the last band `low` must be a catch-all with no thresholds, so every lead gets a band"
    )
    assert problem.suggestion == (
        "add a final band without fit_at_least, intent_at_least and predicted_at_least"
    )


def test_a_band_hidden_by_a_looser_band_above_it_is_an_error() -> None:
    text = BASE.replace(
        "  - {name: high, fit_at_least: 50, intent_at_least: 40, next_action: Call}\n"
        "  - {name: mid, fit_at_least: 30, intent_at_least: 10, next_action: Email}\n",
        "  - {name: low_fit, fit_at_least: 30, intent_at_least: 10, next_action: Email}\n"
        "  - {name: mid, fit_at_least: 50, intent_at_least: 40, next_action: Call}\n",
    ).replace("bands: [high]", "bands: [mid]")

    problem = only_problem(text)

    assert (problem.line, problem.path) == (48, "bands[1]")
    assert problem.message == (
        "band `mid` can never apply (band `low_fit` above it already matches every lead it would)"
    )
    assert problem.suggestion == "move `mid` above `low_fit` or remove it"


def test_a_band_above_the_highest_reachable_scores_is_an_error() -> None:
    problem = only_problem(
        BASE.replace("{name: high, fit_at_least: 50", "{name: high, fit_at_least: 60")
    )

    assert (problem.line, problem.path) == (47, "bands[0]")
    assert problem.message == (
        "band `high` can never apply: no lead can reach its thresholds "
        "(highest fit 55, highest intent 60)"
    )


def test_at_least_one_band_is_needed() -> None:
    text = BASE[: BASE.index("bands:")] + "bands: []\n" + BASE[BASE.index("routing:") :]
    text = text.replace("bands: [high]", "bands: [mid]")

    problems = problems_of(text)

    assert [(p.path, p.message) for p in problems] == [
        ("bands", "at least one band is needed"),
        ("routing.rules[1].bands", "band `mid` is not declared"),
    ]


def test_sql_needs_at_least_one_discovery_answer() -> None:
    text = BASE.replace(
        "    requires:\n"
        "      - {answer: need_confirmed, label: Need confirmed}\n"
        "      - {answer: timeline, label: Timeline}\n",
        "    requires: []\n",
    )

    problem = only_problem(text)

    assert (problem.line, problem.path) == (43, "stages.sql.requires")
    assert problem.message == "SQL needs at least one discovery answer"


def test_discovery_answers_must_be_unique() -> None:
    problem = only_problem(BASE.replace("{answer: timeline,", "{answer: need_confirmed,"))

    assert (problem.line, problem.path) == (45, "stages.sql.requires[1].answer")
    assert problem.message == (
        "discovery answer `need_confirmed` is already used at stages.sql.requires[0]"
    )


def test_a_route_to_an_undeclared_queue_suggests_the_closest_queue() -> None:
    problem = only_problem(
        BASE.replace("{queue: education,", "{queue: educaton,")
        .replace(
            "    - id: education\n      label: Education\n      outreach: email\n"
            '      sla: {mql: "2 business days"}\n',
            "",
        )
        .replace("educaton", "schedulng")
    )

    assert (problem.line, problem.path) == (59, "routing.rules[2].queue")
    assert problem.message == "queue `schedulng` is not declared"
    assert problem.suggestion == "did you mean `scheduling`?"


def test_every_routed_stage_needs_an_sla_in_its_queue() -> None:
    problem = only_problem(
        BASE.replace("{queue: education, stages: [mql]}", "{queue: education, stages: [mql, sql]}")
    )

    assert (problem.line, problem.path) == (63, "routing.rules[2].stages")
    assert problem.message == "queue `education` has no SLA for stage `sql`"
    assert problem.suggestion == (
        'add an SLA for `sql` under routing.queues[1].sla, e.g. `sql: "1 business day"`'
    )


def test_routing_rule_bands_must_be_declared() -> None:
    problem = only_problem(BASE.replace("bands: [high]", "bands: [hgh]"))

    assert (problem.line, problem.path) == (62, "routing.rules[1].bands")
    assert problem.message == "band `hgh` is not declared"
    assert problem.suggestion == "did you mean `high`?"


def test_a_queue_no_rule_uses_is_an_error() -> None:
    problem = only_problem(
        BASE.replace("{queue: education, stages: [mql]}", "{queue: scheduling, stages: [mql]}")
    )

    assert (problem.line, problem.path) == (56, "routing.queues[1]")
    assert problem.message == "queue `education` is never used"
    assert problem.suggestion == "remove it, or add a routing rule that sends leads to it"


def test_a_rule_hidden_by_an_unconditional_rule_above_it_is_an_error() -> None:
    text = BASE.replace(
        "    - {queue: scheduling, stages: [sql]}\n",
        "    - {queue: scheduling, stages: [sql, mql]}\n",
    )

    problems = problems_of(text)

    assert [(p.line, p.path) for p in problems] == [
        (62, "routing.rules[1]"),
        (63, "routing.rules[2]"),
    ]
    assert problems[0].message == (
        "this rule never applies: routing.rules[0] above it already routes all its stages"
    )


def test_a_rule_after_a_conditional_rule_is_not_hidden() -> None:
    playbook = load_playbook_text(BASE, "checks.yaml")

    assert [r.queue for r in playbook.routes] == ["scheduling", "scheduling", "education"]
    assert line_of(BASE, "{queue: education, stages: [mql]}") == 63


def test_every_check_problem_names_the_file_line_and_a_fix() -> None:
    text = BASE.replace("  - id: out_of_area", "  - id: form").replace(
        "bands: [high]", "bands: [hgh]"
    )

    problems = problems_of(text)

    assert [str(p).split(": ")[0] for p in problems] == ["checks.yaml:34:5", "checks.yaml:62:42"]
    assert all(p.suggestion for p in problems)


PREDICTED_BAND = (
    "  - {name: model_hot, fit_at_least: 50, intent_at_least: 40, predicted_at_least: 0.8, "
    "next_action: Call now}\n"
)
HIGH_BAND = "  - {name: high, fit_at_least: 50, intent_at_least: 40, next_action: Call}\n"


def test_a_band_with_a_prediction_floor_placed_above_a_plain_band_can_apply() -> None:
    text = BASE.replace(HIGH_BAND, PREDICTED_BAND + HIGH_BAND)
    assert load_playbook_text(text, "checks.yaml").bands[0].predicted_at_least == 0.8


def test_a_band_with_a_prediction_floor_below_a_plain_band_can_never_apply() -> None:
    problem = only_problem(BASE.replace(HIGH_BAND, HIGH_BAND + PREDICTED_BAND))
    assert problem.path == "bands[1]"
    assert problem.message.startswith("band `model_hot` can never apply (band `high` above it")


def test_the_catch_all_band_cannot_require_a_prediction() -> None:
    text = BASE.replace(
        "  - {name: low, next_action: Nurture}",
        "  - {name: low, predicted_at_least: 0.1, next_action: Nurture}",
    )
    problem = only_problem(text)
    assert problem.path == "bands[2]"
    assert "must be a catch-all" in problem.message
