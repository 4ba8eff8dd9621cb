"""The definitions document is generated from the rules; the language reference is complete."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.adapters.playbook_yaml.schema import ALL_MODELS
from leadflow.domain.conditions import Op
from leadflow.domain.events import DISCOVERY_ANSWERS
from leadflow.domain.playbook import Playbook
from leadflow.domain.stages import Stage
from leadflow.services.playbook_doc import render_definitions

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "playbooks.md"
SHIPPED = ("healthtech-b2b", "referral-partner", "respiratory-program", "specialty-clinic")

PLAYBOOK = """\
id: doc-clinic
name: Doc clinic | patients
description: For the definitions document.
lead_types: [patient]
decay: {half_life_days: 21}
fit:
  - id: service
    label: Service line offered
    must_have: true
    points: 20
    when: {field: service_line, in: [cardiology, dermatology]}
  - id: web_form
    label: Came through the web form
    points: 5
    when: {field: channel, equals: web_form}
intent:
  signals:
    - id: scheduling_page
      label: Viewed a scheduling page
      on: {type: page_viewed, page_category: scheduling}
      points: 10
      cap: 30
      half_life_days: 7
    - id: long_call
      label: Called in for a minute
      on: {type: call_inbound, properties: {duration_s: {at_least: 60}}}
      points: 20
      repeat: once
    - id: careers
      label: Viewed careers pages
      on: {type: page_viewed, page_category: careers}
      points: -15
  bonuses:
    - id: burst
      label: 3 scheduling views in a week
      on: {type: page_viewed, page_category: scheduling}
      at_least: 3
      within_days: 7
      points: 15
hard_stops:
  - id: out_of_area
    label: Outside MA, NH and RI
    reason: out_of_coverage_area
    when: {field: state, not_in: [MA, NH, RI]}
stages:
  mql:
    fit_at_least: 20
    intent_at_least: 25
    fast_track:
      - id: appointment_request
        label: Asked for an appointment
        on: {type: appointment_requested}
        when: {field: consent.any, equals: true}
  sql:
    requires:
      - {answer: need_confirmed, label: "Is the care need confirmed?"}
      - {answer: timeline, label: "When do they want to be seen?"}
    no_timeline_recheck_days: 45
bands:
  - {name: high, fit_at_least: 20, intent_at_least: 40, next_action: Phone call to schedule}
  - {name: low, next_action: Nurture only}
routing:
  queues:
    - id: scheduling
      label: Patient scheduling team
      outreach: phone
      sla: {mql: "1 business day", sql: "1 business hour"}
  rules:
    - {queue: scheduling, stages: [mql, sql], bands: [high], when: {field: state, equals: MA}}
    - {queue: scheduling, stages: [sql]}
next_actions:
  mql: Call within one business day
"""


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook_text(PLAYBOOK, "doc.yaml")


@pytest.fixture(scope="module")
def document(playbook: Playbook) -> str:
    return render_definitions(playbook)


def section(document: str, title: str) -> str:
    """The text of the section headed ``title`` (up to the next heading of any level)."""
    start = document.index(f" {title}\n")
    rest = document[start + len(title) + 2 :]
    following = re.search(r"^#+ ", rest, flags=re.MULTILINE)
    return rest[: following.start()] if following else rest


def test_title_names_the_playbook_its_id_and_version(playbook: Playbook, document: str) -> None:
    assert document.splitlines()[0] == "# Doc clinic | patients — shared definitions"
    assert f"Playbook `doc-clinic`, version `{playbook.version}`." in document
    assert "For the definitions document." in document
    assert "This playbook qualifies leads of type: `patient`." in document


def test_mql_definition_lists_must_haves_nice_to_haves_and_thresholds(document: str) -> None:
    mql = section(document, "Marketing-qualified lead (MQL)")
    assert "**fit ≥ 20** and **intent ≥ 25**, or a fast track applies." in mql
    assert "The highest fit score a lead can reach is 25." in mql
    assert section(document, "Must-have criteria").count("\n| ") == 2
    assert (
        "| Service line offered | `service_line` is one of cardiology, dermatology | +20 | "
        "`service` |" in section(document, "Must-have criteria")
    )
    assert "| Came through the web form | `channel` is web_form | +5 | `web_form` |" in section(
        document, "Nice-to-have criteria"
    )


def test_fast_tracks_are_listed_with_their_event_and_condition(document: str) -> None:
    assert (
        "- **Asked for an appointment** (`appointment_request`): `appointment_requested`, "
        "and `consent.any` is true" in section(document, "Fast track")
    )


def test_intent_signals_show_points_repeat_cap_and_half_life(document: str) -> None:
    signals = section(document, "Intent signals")
    assert "(default 21 days)" in signals
    assert (
        "| Viewed a scheduling page | `page_viewed` (page category scheduling) | +10 | each time "
        "| 30 | 7 days | `scheduling_page` |" in signals
    )
    assert (
        "| Called in for a minute | `call_inbound` where `duration_s` ≥ 60 | +20 | once | none "
        "| 21 days | `long_call` |" in signals
    )
    assert "careers" not in signals


def test_frequency_bonuses_and_negative_signals_have_their_own_tables(document: str) -> None:
    assert (
        "| 3 scheduling views in a week | `page_viewed` (page category scheduling) | "
        "3+ within 7 days | +15 | 21 days | `burst` |" in section(document, "Frequency bonuses")
    )
    assert "| Viewed careers pages |" in section(document, "Negative signals")
    assert "| -15 |" in section(document, "Negative signals")


def test_hard_stops_show_their_reason_codes(document: str) -> None:
    assert (
        "| Outside MA, NH and RI | `state` is known and not one of MA, NH, RI | "
        "`out_of_coverage_area` | `out_of_area` |" in section(document, "Hard stops")
    )


def test_sql_lists_the_discovery_questions_and_the_no_timeline_rule(document: str) -> None:
    sql = section(document, "Sales-qualified lead (SQL)")
    assert "| Is the care need confirmed? | `need_confirmed` |" in sql
    assert "| When do they want to be seen? | `timeline` |" in sql
    no_timeline = section(document, "MQL – no timeline")
    assert 'status "MQL – no timeline"' in no_timeline
    assert "rechecked after 45 days" in no_timeline


def test_bands_routing_and_slas_are_listed(document: str) -> None:
    assert "| `high` | 20 | 40 | Phone call to schedule |" in section(document, "Score bands")
    assert "| `low` | 0 | 0 | Nurture only |" in section(document, "Score bands")
    queues = section(document, "Queues and first-outreach SLAs")
    assert (
        "| `scheduling` | Patient scheduling team | phone | mql: 1 business day; "
        "sql: 1 business hour |" in queues
    )
    assert "a queue without a team assigns nobody and counts around the clock" in queues
    assert "reminded" not in queues
    rules = section(document, "Routing rules (first match wins)")
    assert "1. Stage mql, sql in band high and `state` is MA → `scheduling`" in rules
    assert "2. Stage sql → `scheduling`" in rules


def test_a_playbook_without_teams_or_nurture_says_so(document: str) -> None:
    assert "Team `" not in document
    assert "No nurture tracks: leads in nurture get no automated messages." in section(
        document, "Nurture"
    )


@pytest.fixture(scope="module")
def clinic() -> str:
    return render_definitions(load_playbook("specialty-clinic"))


def test_the_clinic_document_shows_each_team_with_hours_holidays_lead_and_strategy(
    clinic: str,
) -> None:
    intake = section(clinic, "Team `patient_intake`: Northwind intake coordinators")
    assert "- Time zone: America/New_York" in intake
    assert "- Hours: Monday–Friday 08:00–18:00; Saturday–Sunday closed" in intake
    assert "- Holidays (closed all day): 2026-01-01, 2026-01-19, 2026-05-25," in intake
    assert "- Lead (SLA breaches are escalated to): Dana Whitfield (`dana`)" in intake
    assert "the available member with the fewest open leads" in intake
    marketing = section(clinic, "Team `patient_marketing`: Northwind patient marketing")
    assert "- Hours: Monday–Friday 08:00–17:00; Saturday–Sunday closed" in marketing
    assert "round robin — the available member whose last assignment is oldest" in marketing


def test_the_clinic_document_lists_members_with_capacity_and_days(clinic: str) -> None:
    intake = section(clinic, "Team `patient_intake`: Northwind intake coordinators")
    assert "| Dana Whitfield | `dana` | dana@northwind.example | 20 | every open day |" in intake
    assert (
        "| Sam Okafor | `sam` | sam@northwind.example | 30 | "
        "Monday, Tuesday, Wednesday, Thursday |" in intake
    )
    marketing = section(clinic, "Team `patient_marketing`: Northwind patient marketing")
    assert "| Tomás Ruiz | `tomas` |" in marketing


def test_the_clinic_document_shows_queue_teams_band_slas_reminders_and_reassignment(
    clinic: str,
) -> None:
    queues = section(clinic, "Queues and first-outreach SLAs")
    assert (
        "| `patient_scheduling` | Patient scheduling (intake coordinators, by phone) | "
        "`patient_intake` | phone | mql: 2 business hours (band high: 1 business hour); "
        "sales_accepted: 1 business day; sql: 1 business hour; opportunity: 1 business day | "
        "15 business minutes before due | 1 business hour after a breach |" in queues
    )
    assert (
        "| `patient_education` | Patient education (marketing, email first) | "
        "`patient_marketing` | email | mql: 1 business day | 2 business hours before due | "
        "4 business hours after a breach |" in queues
    )
    assert "`lead.sla_breached`" in queues
    assert "the team lead is notified" in queues


def test_the_clinic_document_lists_nurture_tracks_steps_and_template_subjects(
    clinic: str,
) -> None:
    nurture = section(clinic, "Nurture")
    assert "08:00–21:00 the recipient's local time" in nurture
    assert "never carry pricing or eligibility claims" in nurture
    education = section(
        clinic, "Track `patient_education`: Patient education (email first, then a text)"
    )
    assert "Entry: below MQL (in nurture without having been with sales). Service lines: any." in (
        education
    )
    assert "| 1 | 1 hour | email | `care_guide` |" in education
    assert "| 3 | 4 days | sms | `check_in_sms` |" in education
    recycled = section(clinic, "Track `recycled_patients`: Recycled by intake (a gentle check-in)")
    assert 'Entry: recycled (status "Recycled from sales").' in recycled
    assert "| 1 | 7 days | email | `welcome_back` |" in recycled
    templates = section(clinic, "Templates")
    assert (
        "| `care_guide` | A guide to your {service_line} care options at Northwind Health | "
        "`{first_name}`, `{service_line}` |" in templates
    )
    assert "| `check_in_sms` | — | `{service_line}` |" in templates


def test_a_track_limited_to_service_lines_and_a_team_without_lead_are_described() -> None:
    text = PLAYBOOK.replace(
        "      outreach: phone\n",
        "      outreach: phone\n      team: desk\n",
    ).replace(
        "routing:\n",
        """routing:
  teams:
    - id: desk
      label: Front desk
      time_zone: Europe/London
      hours: {monday: "09:00-12:00", tuesday: "09:00-12:00", saturday: "10:00-24:00"}
      members:
        - {id: ann, name: Ann}
""",
    ) + textwrap.dedent(
        """\
        nurture:
          templates:
            - {id: hello, body: "Hi {first_name}"}
          tracks:
            - id: cardio
              label: Cardiology
              service_lines: [cardiology, dermatology]
              steps:
                - {delay: 2 business days, channel: sms, template: hello}
        """
    )

    document = render_definitions(load_playbook_text(text, "doc.yaml"))

    team = section(document, "Team `desk`: Front desk")
    assert (
        "- Hours: Monday–Tuesday 09:00–12:00; Wednesday–Friday closed; Saturday 10:00–24:00; "
        in team
    )
    assert "Sunday closed" in team
    assert "- Holidays (closed all day): none" in team
    assert "- Lead (SLA breaches are escalated to): none (no escalation)" in team
    assert "| Ann | `ann` | — | no limit | every open day |" in team
    queues = section(document, "Queues and first-outreach SLAs")
    assert "| `desk` | phone |" in queues
    assert "| none | never |" in queues
    track = section(document, "Track `cardio`: Cardiology")
    assert "Service lines: cardiology or dermatology." in track
    assert "| 1 | 2 business days | sms | `hello` |" in track


def test_every_stage_lists_the_sales_actions_it_allows(document: str) -> None:
    stages = section(document, "Stages and what sales can do")
    assert "| `mql` | accept, reject, discovery, disqualify | Call within one business day |" in (
        stages
    )
    assert "| `won` | none (final) | No further outreach: won |" in stages
    assert "| `nurture` | discovery, disqualify | the score band's next action |" in stages
    assert all(f"| `{stage.value}` |" in stages for stage in Stage)


def test_table_cells_escape_pipes_and_newlines() -> None:
    text = PLAYBOOK.replace(
        "next_action: Phone call to schedule", 'next_action: "Call | email\\nsoon"'
    )

    document = render_definitions(load_playbook_text(text, "doc.yaml"))

    assert "| `high` | 20 | 40 | Call \\| email soon |" in section(document, "Score bands")


def test_the_no_timeline_rule_is_stated_even_when_sql_does_not_require_a_timeline() -> None:
    text = PLAYBOOK.replace(
        '      - {answer: timeline, label: "When do they want to be seen?"}\n', ""
    )

    document = render_definitions(load_playbook_text(text, "doc.yaml"))

    rule = section(document, "MQL – no timeline")
    assert 'the lead stays an MQL with status "MQL – no timeline"' in rule
    assert "rechecked after 45 days" in rule


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_playbook_renders_every_rule(name: str) -> None:
    playbook = load_playbook(name)

    document = render_definitions(playbook)

    assert playbook.version in document.splitlines()[2]
    ids = [
        *(c.id for c in playbook.fit),
        *(s.id for s in playbook.signals),
        *(b.id for b in playbook.bonuses),
        *(h.id for h in playbook.hard_stops),
        *(f.id for f in playbook.mql.fast_track),
        *(q.id for q in playbook.queues),
    ]
    assert all(f"`{rule_id}`" in document for rule_id in ids)
    assert all(f"`{h.reason_code}`" in document for h in playbook.hard_stops)
    assert all(r.label in document for r in playbook.sql.requires)
    assert all(f"| `{b.name}` |" in document for b in playbook.bands)


def _keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_the_language_reference_mentions_every_schema_key() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")

    keys = set().union(*(_keys(model) for model in ALL_MODELS))
    missing = sorted(key for key in keys if f"`{key}`" not in reference)

    assert not missing, f"docs/playbooks.md does not mention: {missing}"


def test_the_language_reference_mentions_every_operator_and_discovery_answer() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")

    words = [*(op.value for op in Op), *DISCOVERY_ANSWERS, *(stage.value for stage in Stage)]

    assert [w for w in words if f"`{w}`" not in reference] == []


def test_the_example_in_the_language_reference_is_a_valid_playbook() -> None:
    reference = REFERENCE.read_text(encoding="utf-8")
    example = reference.split("```yaml\n", 1)[1].split("```", 1)[0]

    playbook = load_playbook_text(example, "docs/playbooks.md")

    assert playbook.id == "specialty-clinic"
    assert render_definitions(playbook).startswith("# Northwind Health")
