"""Loading playbooks: YAML → pydantic → domain, with located, readable problems."""

from __future__ import annotations

import textwrap

import pytest
from tests.playbook_text import BASE, only_problem, problems_of

from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.domain.calendar import Sla, SlaUnit
from leadflow.domain.conditions import AllOf, AnyOf, FieldTest, Not, Op
from leadflow.domain.events import EventType
from leadflow.domain.playbook import Repeat
from leadflow.domain.stages import Stage

FULL = textwrap.dedent(
    """\
    id: full-clinic
    name: Full clinic
    description: Everything once.
    lead_types: [patient, b2b]
    decay: {half_life_days: 21}
    page_categories:
      - {pattern: "/book*", category: scheduling}
    fit:
      - id: service
        label: Service line offered
        must_have: true
        points: 20
        when: {field: service_line, in: [cardiology, dermatology]}
      - id: nearby
        label: Nearby
        points: 5.5
        when:
          any:
            - {field: postal_code, postal_code_in: ["021", "010-027"]}
            - all:
                - {field: contact.valid, exists: true}
                - not: {field: custom.segment, equals: staff}
    intent:
      signals:
        - id: long_call
          label: Called for a minute
          on: {type: call_inbound, properties: {duration_s: {at_least: 60}}}
          points: 20
          repeat: once
          half_life_days: 0
        - id: careers
          label: Careers pages
          on: {type: [page_viewed, email_clicked], page_category: [careers, jobs]}
          points: -5
          cap: 10
      bonuses:
        - id: burst
          label: 3 calls in a week
          on: {type: call_inbound}
          at_least: 3
          within_days: 7
          points: 15
          half_life_days: 7
    hard_stops:
      - id: out_of_area
        label: Out of area
        reason: out_of_coverage_area
        when: {field: state, not_in: [MA, NH, RI]}
    stages:
      mql:
        fit_at_least: 20
        intent_at_least: 15
        fast_track:
          - id: form_fast
            label: Form for cardiology
            on: {type: form_submitted, properties: {service_line: {equals: cardiology}}}
            when: {field: consent.any, equals: true}
      sql:
        requires:
          - {answer: need_confirmed, label: Need confirmed}
          - {answer: timeline, label: Timeline known}
        no_timeline_recheck_days: 45
    bands:
      - {name: hot, fit_at_least: 20, intent_at_least: 20, next_action: Call}
      - {name: rest, next_action: Nurture}
    routing:
      queues:
        - id: scheduling
          label: Scheduling team
          outreach: phone
          sla:
            mql: "2 business hours"
            sql: "1 business day"
            sales_accepted: "30 business minutes"
      rules:
        - {queue: scheduling, stages: [sql, sales_accepted]}
        - {queue: scheduling, stages: [mql], bands: [hot], when: {field: state, equals: MA}}
    next_actions:
      mql: Call within two hours
    """
)


def test_a_full_playbook_compiles_into_domain_rules() -> None:
    playbook = load_playbook_text(FULL, "full.yaml")

    assert (playbook.id, playbook.name, playbook.description) == (
        "full-clinic",
        "Full clinic",
        "Everything once.",
    )
    assert playbook.lead_types == frozenset({"patient", "b2b"})
    assert playbook.default_half_life_days == 21
    assert playbook.page_rules[0].pattern == "/book*"
    assert playbook.page_rules[0].category == "scheduling"
    service, nearby = playbook.fit
    assert service.must_have
    assert service.points == 20
    assert service.condition == FieldTest("service_line", Op.IN, ("cardiology", "dermatology"))
    assert not nearby.must_have
    assert nearby.points == 5.5
    assert nearby.condition == AnyOf(
        (
            FieldTest("postal_code", Op.POSTAL_CODE_IN, ("021", "010-027")),
            AllOf(
                (
                    FieldTest("contact.valid", Op.EXISTS, (True,)),
                    Not(FieldTest("custom.segment", Op.EQUALS, ("staff",))),
                )
            ),
        )
    )
    call, careers = playbook.signals
    assert call.match.types == frozenset({EventType.CALL_INBOUND})
    assert call.match.page_categories is None
    assert call.match.properties == (FieldTest("duration_s", Op.AT_LEAST, (60,)),)
    assert (call.repeat, call.cap, call.half_life_days) == (Repeat.ONCE, None, 0)
    assert careers.match.types == frozenset({EventType.PAGE_VIEWED, EventType.EMAIL_CLICKED})
    assert careers.match.page_categories == frozenset({"careers", "jobs"})
    assert (careers.points, careers.repeat, careers.cap) == (-5, Repeat.EACH, 10)
    (bonus,) = playbook.bonuses
    assert (bonus.at_least, bonus.within_days, bonus.points, bonus.half_life_days) == (3, 7, 15, 7)
    (stop,) = playbook.hard_stops
    assert (stop.id, stop.reason_code) == ("out_of_area", "out_of_coverage_area")
    assert (playbook.mql.fit_at_least, playbook.mql.intent_at_least) == (20, 15)
    (fast,) = playbook.mql.fast_track
    assert fast.match.properties == (FieldTest("service_line", Op.EQUALS, ("cardiology",)),)
    assert fast.condition == FieldTest("consent.any", Op.EQUALS, (True,))
    assert [r.answer for r in playbook.sql.requires] == ["need_confirmed", "timeline"]
    assert playbook.sql.no_timeline_recheck_days == 45
    assert [(b.name, b.fit_at_least, b.intent_at_least) for b in playbook.bands] == [
        ("hot", 20, 20),
        ("rest", 0, 0),
    ]
    (queue,) = playbook.queues
    assert queue.outreach == "phone"
    assert dict(queue.sla) == {
        Stage.MQL: Sla(2, SlaUnit.HOURS, business=True),
        Stage.SQL: Sla(1, SlaUnit.DAYS, business=True),
        Stage.SALES_ACCEPTED: Sla(30, SlaUnit.MINUTES, business=True),
    }
    first, second = playbook.routes
    assert first.stages == frozenset({Stage.SQL, Stage.SALES_ACCEPTED})
    assert first.bands is None
    assert first.condition is None
    assert second.bands == frozenset({"hot"})
    assert second.condition == FieldTest("state", Op.EQUALS, ("MA",))
    assert dict(playbook.stage_actions) == {Stage.MQL: "Call within two hours"}


def test_optional_sections_default_to_empty_and_no_decay() -> None:
    playbook = load_playbook_text(BASE, "base.yaml")

    assert playbook.default_half_life_days is None
    assert playbook.lead_types == frozenset()
    assert playbook.hard_stops == ()
    assert playbook.bonuses == ()
    assert playbook.queues == ()
    assert playbook.routes == ()
    assert playbook.signals[0].repeat is Repeat.EACH
    assert playbook.sql.no_timeline_recheck_days == 30


def test_unknown_field_is_rejected_with_line_and_suggestion() -> None:
    text = BASE.replace("      points: 10\n", "      pionts: 10\n")

    problems = problems_of(text, "specialty.yaml")

    unknown = next(p for p in problems if "pionts" in p.message)
    assert (unknown.file, unknown.line, unknown.column) == ("specialty.yaml", 14, 7)
    assert unknown.path == "intent.signals[0]"
    assert unknown.message == "unknown field `pionts`"
    assert unknown.suggestion == "did you mean `points`?"
    assert str(unknown) == (
        "specialty.yaml:14:7: intent.signals[0]: unknown field `pionts` (did you mean `points`?)"
    )
    missing = next(p for p in problems if p is not unknown)
    assert (missing.line, missing.path) == (11, "intent.signals[0]")
    assert missing.message == "missing required field `points`"


def test_unknown_top_level_field_suggests_the_closest_key() -> None:
    problem = only_problem(BASE + "intnet: {}\n")

    assert (problem.line, problem.column, problem.path) == (24, 1, "")
    assert problem.message == "unknown field `intnet`"
    assert problem.suggestion == "did you mean `intent`?"


def test_unknown_field_with_nothing_close_lists_the_allowed_keys() -> None:
    problem = only_problem(BASE.replace("  mql: {", "  mql: {zzz: 1, "))

    assert problem.path == "stages.mql"
    assert problem.suggestion == ("expected one of `fit_at_least`, `intent_at_least`, `fast_track`")


def test_invalid_yaml_is_one_problem_at_the_error_line() -> None:
    text = BASE.replace(
        "  mql: {fit_at_least: 20, intent_at_least: 10}", "  mql: [fit_at_least: 20"
    )

    problem = only_problem(text)

    assert (problem.line, problem.column, problem.path) == (18, 6, "")
    assert problem.message == (
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    )


def test_a_tab_in_the_indentation_is_reported_at_its_line() -> None:
    problem = only_problem(BASE.replace("  - id: service", "\t- id: service"))

    assert (problem.line, problem.column) == (4, 1)
    assert "cannot start any token" in problem.message


def test_every_problem_is_collected_and_sorted_by_line() -> None:
    text = (
        BASE.replace("name: Tiny clinic", "name: ''")
        .replace("points: 20", "points: lots")
        .replace("{answer: need_confirmed,", "{answer: need_confirmd,")
    )

    problems = problems_of(text)

    assert [(p.line, p.path, p.message) for p in problems] == [
        (2, "name", "must not be empty"),
        (7, "fit[0].points", "expected a number"),
        (20, "stages.sql.requires[0].answer", "`need_confirmd` is not a discovery answer"),
    ]
    assert problems[2].suggestion == "did you mean `need_confirmed`?"


def test_missing_required_section_is_reported_at_the_document() -> None:
    text = BASE[: BASE.index("bands:")]

    problem = only_problem(text)

    assert (problem.line, problem.path, problem.message) == (
        1,
        "",
        "missing required field `bands`",
    )


def test_unknown_profile_field_suggests_the_closest_field() -> None:
    problem = only_problem(BASE.replace("field: service_line", "field: servce_line"))

    assert (problem.line, problem.column) == (8, 12)
    assert problem.path == "fit[0].when.field"
    assert problem.message == "`servce_line` is not a lead field"
    assert problem.suggestion == "did you mean `service_line`?"


def test_derived_and_custom_fields_can_be_tested() -> None:
    for field in ("consent.any", "contact.valid_phone", "custom.insurance_plan", "created_at"):
        playbook = load_playbook_text(BASE.replace("field: service_line", f"field: {field}"), "t")
        condition = playbook.fit[0].condition
        assert isinstance(condition, FieldTest)
        assert condition.field == field


def test_event_type_typo_suggests_the_right_type() -> None:
    problem = only_problem(BASE.replace("type: page_viewed", "type: page_viewd"))

    assert (problem.line, problem.path) == (13, "intent.signals[0].on.type")
    assert problem.message == "`page_viewd` is not an event type"
    assert problem.suggestion == "did you mean `page_viewed`?"


def test_property_close_to_a_known_property_is_rejected_with_suggestion() -> None:
    text = BASE.replace(
        "on: {type: page_viewed, page_category: scheduling}",
        "on: {type: call_inbound, properties: {duraton_s: {at_least: 60}}}",
    )

    problem = only_problem(text)

    assert problem.line == 13
    assert problem.path == "intent.signals[0].on.properties.duraton_s"
    assert problem.message == "`duraton_s` is not a property of call_inbound"
    assert problem.suggestion == "did you mean `duration_s`?"


def test_unknown_property_with_no_close_match_is_a_custom_property() -> None:
    text = BASE.replace(
        "on: {type: page_viewed, page_category: scheduling}",
        "on: {type: page_viewed, properties: {utm_medium: {equals: cpc}}}",
    )

    playbook = load_playbook_text(text, "t.yaml")

    assert playbook.signals[0].match.properties == (FieldTest("utm_medium", Op.EQUALS, ("cpc",)),)


def test_values_for_a_known_property_must_have_its_type() -> None:
    text = BASE.replace(
        "on: {type: page_viewed, page_category: scheduling}",
        "on: {type: unsubscribed, properties: {channel: {in: [email, mail]}}}",
    )

    problem = only_problem(text)

    assert problem.path == "intent.signals[0].on.properties.channel.in"
    assert problem.message == "property `channel`: expected one of email, phone, sms"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{field: state}", "the test on `state` has no operator"),
        (
            "{field: state, equals: MA, in: [NH]}",
            "the test on `state` has 2 operators (equals, in); use exactly one",
        ),
        ("{equals: MA}", "a condition needs `field` and one operator, or `all`, `any` or `not`"),
        ("{field: state, equals: null}", "`equals` needs a value"),
        (
            "{all: [{field: state, equals: MA}], field: state}",
            "`all`, `any` and `not` must each stand alone in a condition",
        ),
        ("{field: age, between: [65, 18]}", "`between` bounds are reversed (65 > 18)"),
        ("{field: age, between: [18]}", "`between` needs exactly two numbers, [low, high]"),
        ("{field: state, in: []}", "must not be empty"),
        (
            "{field: postal_code, postal_code_in: [02a]}",
            "`02a` is not a postal prefix or prefix range",
        ),
        ("{field: postal_code, postal_code_in: [010-27]}", "`010-27` is not a valid range"),
        ("{field: state, equals: [MA]}", "expected a single value (text, number, true or false)"),
    ],
)
def test_malformed_conditions_are_rejected_at_the_condition(condition: str, message: str) -> None:
    text = BASE.replace("{field: service_line, in: [cardiology]}", condition)

    problem = only_problem(text.replace("field: age", "field: custom.age"))

    assert problem.line == 8
    assert problem.path.startswith("fit[0].when")
    assert problem.message == message


def test_sla_text_must_name_minutes_hours_or_days() -> None:
    routed = BASE + textwrap.dedent(
        """\
        routing:
          queues:
            - {id: q, label: Q, outreach: phone, sla: {mql: "2 fortnights"}}
          rules:
            - {queue: q, stages: [mql]}
        """
    )

    problem = only_problem(routed)

    assert (problem.line, problem.path) == (26, "routing.queues[0].sla.mql")
    assert problem.message == "`2 fortnights` is not a duration"
    assert problem.suggestion is not None
    assert '"N business hours"' in problem.suggestion


def test_an_sla_without_business_counts_wall_clock_time() -> None:
    routed = BASE + textwrap.dedent(
        """\
        routing:
          queues:
            - {id: q, label: Q, outreach: phone, sla: {mql: "2 hours", sql: "1 business day"}}
          rules:
            - {queue: q, stages: [mql, sql]}
        """
    )

    (queue,) = load_playbook_text(routed, "routed.yaml").queues

    assert queue.sla[Stage.MQL] == Sla(2, SlaUnit.HOURS, business=False)
    assert queue.sla[Stage.SQL] == Sla(1, SlaUnit.DAYS, business=True)


def test_stage_names_are_checked_in_sla_and_next_actions() -> None:
    problem = only_problem(BASE + "next_actions:\n  mlq: Call\n")

    assert (problem.line, problem.path) == (25, "next_actions.mlq")
    assert problem.message == "`mlq` is not a stage"
    assert problem.suggestion == "did you mean `mql`?"


def test_ids_must_be_slugs_and_a_fix_is_offered() -> None:
    problem = only_problem(BASE.replace("id: tiny-clinic", "id: Tiny Clinic"))

    assert (problem.line, problem.path) == (1, "id")
    assert problem.suggestion == "did you mean `tiny-clinic`?"


def test_version_ignores_comments_layout_and_spelled_out_defaults() -> None:
    original = load_playbook_text(BASE, "a.yaml").version
    reformatted = "# a comment\n" + BASE.replace(
        "  mql: {fit_at_least: 20, intent_at_least: 10}",
        ("  mql:\n    intent_at_least: 10   # reordered\n    fit_at_least: 20.0"),
    ).replace("      cap: 30\n", "      cap: 30\n      repeat: each\n")

    assert len(original) == 12
    assert int(original, 16) >= 0
    assert load_playbook_text(reformatted, "b.yaml").version == original


def test_version_changes_when_a_rule_changes() -> None:
    original = load_playbook_text(BASE, "a.yaml").version

    more_points = load_playbook_text(BASE.replace("points: 10", "points: 11"), "a.yaml")
    new_action = load_playbook_text(BASE.replace("Call}", "Phone}"), "a.yaml")
    lower_cap = load_playbook_text(BASE.replace("cap: 30", "cap: 25"), "a.yaml")

    assert len({original, more_points.version, new_action.version, lower_cap.version}) == 4
