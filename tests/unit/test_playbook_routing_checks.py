"""Teams, queue SLAs and nurture in playbooks: what compiles, and each load-time check."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import date, time

from test_playbook_loading import BASE, only_problem

from leadflow.adapters.playbook_yaml import load_playbook_text
from leadflow.domain.calendar import Sla, SlaUnit
from leadflow.domain.nurture import claims_in, render, track_for
from leadflow.domain.playbook import (
    Assignment,
    NurtureEntry,
    NurtureStep,
    NurtureTrack,
    Playbook,
)
from leadflow.domain.stages import Stage

# BASE has 23 lines, so TEAM starts at line 24; the line numbers below count from there.
TEAM = textwrap.dedent(
    """\
    routing:
      teams:
        - id: desk
          label: Front desk
          time_zone: America/New_York
          hours: {monday: "08:00-17:00", tuesday: "08:00-17:00"}
          holidays: [2026-12-25]
          lead: ann
          assignment: load_balanced
          members:
            - {id: ann, name: Ann, email: ann@clinic.example, capacity: 5}
            - {id: bo, name: Bo, days: [tuesday]}
      queues:
        - id: q
          label: Q
          team: desk
          outreach: phone
          sla: {mql: "2 business hours", sql: "1 day"}
          band_sla: {hot: {mql: "1 business hour"}}
          remind_before: 15 business minutes
          reassign_after: 1 business hour
      rules:
        - {queue: q, stages: [mql, sql]}
    """
)

# BASE has 23 lines, so NURTURE starts at line 24 too.
NURTURE = textwrap.dedent(
    """\
    nurture:
      templates:
        - {id: hello, subject: "Hello {first_name}", body: "Hi {first_name}, a short guide."}
        - {id: nudge, body: "Questions about {service_line}? Reply STOP to opt out."}
      tracks:
        - id: edu
          label: Education
          steps:
            - {delay: 1 hour, channel: email, template: hello}
            - {delay: 2 days, channel: sms, template: nudge}
    """
)


def _routed(text: str = TEAM) -> Playbook:
    return load_playbook_text(BASE + text, "routed.yaml")


# -- what a valid team, queue and track compile to ----------------------------------------------


def test_a_team_compiles_to_business_hours_in_its_zone_with_its_holidays() -> None:
    (team,) = _routed().teams

    assert (team.id, team.label, team.lead) == ("desk", "Front desk", "ann")
    assert team.assignment is Assignment.LOAD_BALANCED
    assert team.hours.zone == "America/New_York"
    assert team.hours.week == (
        ((time(8), time(17)),),
        ((time(8), time(17)),),
        (),
        (),
        (),
        (),
        (),
    )
    assert team.hours.holidays == frozenset({date(2026, 12, 25)})


def test_members_keep_their_capacity_email_and_working_days() -> None:
    (team,) = _routed().teams

    ann, bo = team.members
    assert (ann.email, ann.capacity, ann.days) == ("ann@clinic.example", 5, None)
    assert (bo.email, bo.capacity, bo.days) == (None, None, frozenset({1}))
    assert [ann.works_on(0), bo.works_on(0), bo.works_on(1)] == [True, False, True]
    assert team.member("bo") is bo


def test_a_team_assigns_round_robin_unless_it_says_otherwise() -> None:
    (team,) = _routed(TEAM.replace("      assignment: load_balanced\n", "")).teams

    assert team.assignment is Assignment.ROUND_ROBIN


def test_a_queue_uses_the_band_sla_for_its_band_and_the_queue_sla_otherwise() -> None:
    playbook = _routed()
    queue = playbook.queue("q")
    assert queue is not None

    assert queue.team == "desk"
    assert queue.sla_for(Stage.MQL, "hot") == Sla(1, SlaUnit.HOURS, business=True)
    assert queue.sla_for(Stage.MQL, "rest") == Sla(2, SlaUnit.HOURS, business=True)
    assert queue.sla_for(Stage.MQL, None) == Sla(2, SlaUnit.HOURS, business=True)
    assert queue.sla_for(Stage.SQL, "hot") == Sla(1, SlaUnit.DAYS, business=False)
    assert queue.sla_for(Stage.OPPORTUNITY, "hot") is None
    assert queue.remind_before == Sla(15, SlaUnit.MINUTES, business=True)
    assert queue.reassign_after == Sla(1, SlaUnit.HOURS, business=True)


def test_a_nurture_track_compiles_with_its_steps_and_both_entries_by_default() -> None:
    playbook = _routed(NURTURE)

    (track,) = playbook.tracks
    assert track.entry == frozenset({NurtureEntry.BELOW_MQL, NurtureEntry.RECYCLED})
    assert track.service_lines is None
    assert track.steps == (
        NurtureStep(Sla(1, SlaUnit.HOURS, business=False), "email", "hello"),
        NurtureStep(Sla(2, SlaUnit.DAYS, business=False), "sms", "nudge"),
    )
    hello = playbook.template("hello")
    assert hello is not None
    assert hello.subject == "Hello {first_name}"
    nudge = playbook.template("nudge")
    assert nudge is not None
    assert nudge.subject is None


# -- values refused while validating ------------------------------------------------------------


def test_opening_hours_that_close_before_they_open_are_refused() -> None:
    text = TEAM.replace('tuesday: "08:00-17:00"}', 'tuesday: "17:00-08:00"}')

    problem = only_problem(BASE + text)

    assert (problem.line, problem.path) == (29, "routing.teams[0].hours.tuesday")
    assert problem.message == "`17:00-08:00` is not a span of opening hours"
    assert problem.suggestion == (
        'write "HH:MM-HH:MM" in local time, opening before closing, e.g. "08:00-17:00"'
    )


def test_an_unknown_time_zone_is_refused_with_an_example() -> None:
    problem = only_problem(BASE + TEAM.replace("America/New_York", "America/Nowhere"))

    assert (problem.line, problem.path) == (28, "routing.teams[0].time_zone")
    assert problem.message == "`America/Nowhere` is not a time zone"
    assert problem.suggestion == "use an IANA name such as America/New_York"


# -- check_teams ---------------------------------------------------------------------------------


def test_a_team_lead_must_be_one_of_its_members() -> None:
    problem = only_problem(BASE + TEAM.replace("lead: ann", "lead: anne"))

    assert (problem.file, problem.line, problem.path) == ("t.yaml", 31, "routing.teams[0].lead")
    assert problem.message == "team lead `anne` is not a member"
    assert problem.suggestion == "did you mean `ann`?"


def test_a_team_lead_with_no_close_member_asks_for_a_member() -> None:
    problem = only_problem(BASE + TEAM.replace("lead: ann", "lead: zed"))

    assert problem.suggestion == "name one of the team's members"


def test_a_queue_must_name_a_declared_team() -> None:
    problem = only_problem(BASE + TEAM.replace("team: desk", "team: dsk"))

    assert (problem.line, problem.path) == (39, "routing.queues[0].team")
    assert problem.message == "team `dsk` is not declared"
    assert problem.suggestion == "did you mean `desk`?"


def test_once_teams_exist_every_queue_needs_one() -> None:
    problem = only_problem(BASE + TEAM.replace("      team: desk\n", ""))

    assert (problem.line, problem.path) == (37, "routing.queues[0]")
    assert problem.message == "queue `q` has no team to assign leads to"
    assert problem.suggestion == "add `team:` naming one of `desk`"


def test_a_queue_without_a_team_is_fine_when_the_playbook_has_no_teams() -> None:
    teamless = TEAM[TEAM.index("  queues:") :].replace("      team: desk\n", "")

    (queue,) = _routed("routing:\n" + teamless).queues

    assert queue.team is None


def test_band_slas_name_declared_bands() -> None:
    problem = only_problem(BASE + TEAM.replace("{hot:", "{hott:"))

    assert (problem.line, problem.path) == (42, "routing.queues[0].band_sla")
    assert problem.message == "band `hott` is not declared"
    assert problem.suggestion == "did you mean `hot`?"


def test_band_sla_stages_must_be_stage_names() -> None:
    problem = only_problem(BASE + TEAM.replace("{hot: {mql:", "{hot: {mlq:"))

    assert (problem.line, problem.path) == (42, "routing.queues[0].band_sla.hot.mlq")
    assert problem.message == "`mlq` is not a stage"
    assert problem.suggestion == "did you mean `mql`?"


def test_a_member_must_work_on_a_day_the_team_is_open() -> None:
    problem = only_problem(BASE + TEAM.replace("days: [tuesday]", "days: [saturday, sunday]"))

    assert (problem.line, problem.path) == (35, "routing.teams[0].members[1].days")
    assert problem.message == "member `bo` works only on days the team is closed"
    assert problem.suggestion == (
        "give days on which the team has hours, or add hours for those days"
    )


def test_team_ids_are_unique() -> None:
    second = (
        '    - {id: desk, label: Again, time_zone: UTC, hours: {monday: "08:00-09:00"}, '
        "members: [{id: cy, name: Cy}]}\n"
    )
    text = TEAM.replace("  queues:\n", second + "  queues:\n")

    problem = only_problem(BASE + text)

    assert (problem.line, problem.path) == (36, "routing.teams[1].id")
    assert problem.message == "team id `desk` is already used at routing.teams[0]"
    assert problem.suggestion == "rename one of them; each team id must be unique"


def test_member_ids_are_unique_within_a_team() -> None:
    problem = only_problem(BASE + TEAM.replace("{id: bo,", "{id: ann,"))

    assert (problem.line, problem.path) == (35, "routing.teams[0].members[1].id")
    assert problem.message == "member id `ann` is already used at routing.teams[0].members[0]"
    assert problem.suggestion == "rename one of them; each member id must be unique"


# -- check_nurture -------------------------------------------------------------------------------


def test_template_ids_are_unique() -> None:
    text = NURTURE.replace("{id: nudge,", "{id: hello, subject: Hi,").replace(
        "template: nudge", "template: hello"
    )

    problem = only_problem(BASE + text)

    assert (problem.line, problem.path) == (27, "nurture.templates[1].id")
    assert problem.message == "template id `hello` is already used at nurture.templates[0]"
    assert problem.suggestion == "rename one of them; each template id must be unique"


def test_track_ids_are_unique() -> None:
    again = (
        "    - {id: edu, label: Again, steps: [{delay: 1 day, channel: sms, template: nudge}]}\n"
    )

    problem = only_problem(BASE + NURTURE + again)

    assert (problem.line, problem.path) == (34, "nurture.tracks[1].id")
    assert problem.message == "track id `edu` is already used at nurture.tracks[0]"
    assert problem.suggestion == "rename one of them; each track id must be unique"


def test_a_step_must_send_a_declared_template() -> None:
    problem = only_problem(BASE + NURTURE.replace("template: nudge", "template: nudge2"))

    assert (problem.line, problem.path) == (33, "nurture.tracks[0].steps[1].template")
    assert problem.message == "template `nudge2` is not declared"
    assert problem.suggestion == "did you mean `nudge`?"


def test_an_email_step_needs_a_template_with_a_subject() -> None:
    text = NURTURE.replace("channel: sms, template: nudge", "channel: email, template: nudge")

    problem = only_problem(BASE + text)

    assert (problem.line, problem.path) == (33, "nurture.tracks[0].steps[1].template")
    assert problem.message == "template `nudge` has no subject, and this step sends an email"
    assert problem.suggestion == "add `subject:` to template `nudge`"


def test_templates_use_only_the_allowed_placeholders() -> None:
    problem = only_problem(BASE + NURTURE.replace("Hi {first_name}", "Hi {firstname}"))

    assert (problem.line, problem.path) == (26, "nurture.templates[0]")
    assert problem.message == "template `hello` uses `{firstname}`, not a template field"
    assert problem.suggestion == "did you mean `first_name`?"


def test_an_unknown_placeholder_with_nothing_close_lists_the_fields() -> None:
    problem = only_problem(BASE + NURTURE.replace("Hi {first_name}", "Hi {zip}"))

    assert problem.suggestion == (
        "expected one of `first_name`, `last_name`, `organization`, `service_line`, `specialty`"
    )


def test_an_unclosed_placeholder_is_reported_with_how_to_write_a_brace() -> None:
    problem = only_problem(BASE + NURTURE.replace("Hi {first_name}", "Hi {first_name"))

    assert (problem.line, problem.path) == (26, "nurture.templates[0]")
    assert problem.message == "template `hello`: expected '}' before end of string"
    assert problem.suggestion == (
        "close each `{` placeholder with `}`; write `{{` or `}}` for a brace"
    )


def test_a_template_with_a_price_is_refused() -> None:
    problem = only_problem(BASE + NURTURE.replace("a short guide.", "visits from $49."))

    assert (problem.line, problem.path) == (26, "nurture.templates[0]")
    assert problem.message.startswith("template `hello` makes a claim about pricing (`$4")
    assert "never get pricing or eligibility claims" in problem.message
    assert problem.suggestion == "leave prices and eligibility to the sales or intake conversation"


def test_a_template_with_an_eligibility_claim_is_refused() -> None:
    text = NURTURE.replace("Reply STOP", "You qualify for a visit. Reply STOP")

    problem = only_problem(BASE + text)

    assert (problem.line, problem.path) == (27, "nurture.templates[1]")
    assert problem.message.startswith(
        "template `nudge` makes a claim about eligibility (`You qualify`);"
    )


# -- the pure nurture helpers --------------------------------------------------------------------


def test_claims_in_finds_prices_pricing_words_and_eligibility_promises() -> None:
    assert [c.kind for c in claims_in("Visits from $49 only.")] == ["pricing"]
    assert [(c.kind, c.text) for c in claims_in("See our pricing page")] == [("pricing", "pricing")]
    assert [(c.kind, c.text) for c in claims_in("Good news: you qualify for a visit")] == [
        ("eligibility", "you qualify")
    ]
    assert [(c.kind, c.text) for c in claims_in("It is covered by your insurance.")] == [
        ("eligibility", "covered by")
    ]


def test_claims_in_finds_nothing_in_an_educational_text() -> None:
    text = "Hello Ana, here is a short guide to what a first cardiology visit looks like."

    assert claims_in(text) == []


def test_render_fills_the_fields_and_blanks_the_missing_ones() -> None:
    text = "Hello {first_name} {last_name}, about {service_line} care"

    rendered = render(text, {"first_name": "Ana", "last_name": None, "email": "a@b.example"})

    assert rendered == "Hello Ana , about  care"


def _with_tracks(*tracks: NurtureTrack) -> Playbook:
    return replace(load_playbook_text(BASE, "t.yaml"), tracks=tracks)


STEP = (NurtureStep(Sla(1, SlaUnit.DAYS, business=False), "email", "hello"),)
RECYCLED_ONLY = NurtureTrack("recycled", "Recycled", STEP, frozenset({NurtureEntry.RECYCLED}))
CARDIOLOGY = NurtureTrack(
    "cardio", "Cardiology", STEP, frozenset(NurtureEntry), frozenset({"cardiology"})
)
ANYONE = NurtureTrack("anyone", "Anyone", STEP)


def test_track_for_picks_the_first_track_whose_entry_and_service_line_match() -> None:
    playbook = _with_tracks(RECYCLED_ONLY, CARDIOLOGY, ANYONE)

    assert track_for(playbook, Stage.NURTURE, "Recycled from sales", "cardiology") is (
        RECYCLED_ONLY
    )
    assert track_for(playbook, Stage.NURTURE, "", "cardiology") is CARDIOLOGY
    assert track_for(playbook, Stage.NURTURE, "", "dermatology") is ANYONE
    assert track_for(playbook, Stage.NURTURE, "", None) is ANYONE


def test_track_for_is_none_outside_nurture_or_when_no_track_matches() -> None:
    playbook = _with_tracks(RECYCLED_ONLY, CARDIOLOGY)

    assert track_for(playbook, Stage.MQL, "", "cardiology") is None
    assert track_for(playbook, Stage.NURTURE, "", "dermatology") is None
