"""A playbook's form confirmation (``nurture.confirmation``): what compiles, and what the
loader (and so ``leadflow playbook check``) refuses, each at its line with a fix."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.domain.events import CAPTURE_TYPES, EventType
from leadflow.domain.nurture import CONFIRMATION_FIELDS, placeholders, template_claims
from leadflow.domain.playbook import Confirmation
from leadflow.entrypoints.cli import app as cli
from leadflow.errors import PlaybookError, PlaybookProblem
from leadflow.services.playbook_doc import render_definitions

SHIPPED = ("specialty-clinic", "respiratory-program", "referral-partner", "healthtech-b2b")
CLINIC = files("leadflow.playbooks").joinpath("specialty-clinic.yaml").read_text(encoding="utf-8")
DECLARED = """\
  confirmation:
    template: request_received
    on: [form_submitted, appointment_requested, consultation_requested]
"""


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def _only_problem(text: str) -> PlaybookProblem:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, "clinic.yaml")
    [problem] = caught.value.problems
    return problem


def test_the_clinic_confirms_forms_appointment_and_consultation_requests() -> None:
    playbook = load_playbook("specialty-clinic")
    assert playbook.confirmation == Confirmation(
        "request_received",
        frozenset(
            {
                EventType.FORM_SUBMITTED,
                EventType.APPOINTMENT_REQUESTED,
                EventType.CONSULTATION_REQUESTED,
            }
        ),
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_confirmation_is_a_plain_email_naming_no_care_area(name: str) -> None:
    playbook = load_playbook(name)
    assert playbook.confirmation is not None
    assert playbook.confirmation.on <= CAPTURE_TYPES
    template = playbook.template(playbook.confirmation.template)
    assert template is not None
    assert template.subject is not None
    texts = [template.subject, template.body]
    assert {f for text in texts for f in placeholders(text)} <= set(CONFIRMATION_FIELDS)
    assert template_claims(template) == []


def test_on_defaults_to_form_submitted() -> None:
    text = CLINIC.replace(DECLARED, "  confirmation:\n    template: request_received\n")
    playbook = load_playbook_text(text, "clinic.yaml")
    assert playbook.confirmation == Confirmation(
        "request_received", frozenset({EventType.FORM_SUBMITTED})
    )


def test_a_playbook_without_a_confirmation_keeps_its_version() -> None:
    without = load_playbook_text(CLINIC.replace(DECLARED, ""), "clinic.yaml")
    spelled = "  confirmation: null\n"
    assert without.confirmation is None
    assert load_playbook_text(CLINIC.replace(DECLARED, spelled), "c.yaml").version == (
        without.version
    )
    assert without.version != load_playbook("specialty-clinic").version


def test_an_event_that_is_not_a_form_capture_is_refused_with_the_captures() -> None:
    text = CLINIC.replace("on: [form_submitted, appointment", "on: [page_viewed, appointment")
    problem = _only_problem(text)
    assert (problem.line, problem.path) == (
        _line_of(text, "page_viewed, appointment"),
        ("nurture.confirmation.on[0]"),
    )
    assert problem.message == "`page_viewed` is not a form capture event"
    assert problem.suggestion == "expected one of " + ", ".join(
        f"`{t}`" for t in sorted(t.value for t in CAPTURE_TYPES)
    )


def test_a_misspelt_capture_gets_a_suggestion() -> None:
    problem = _only_problem(CLINIC.replace("on: [form_submitted,", "on: [form_submited,"))
    assert problem.message == "`form_submited` is not a form capture event"
    assert problem.suggestion == "did you mean `form_submitted`?"


def test_the_confirmation_must_send_a_declared_template() -> None:
    text = CLINIC.replace("    template: request_received\n", "    template: request_recieved\n")
    problem = _only_problem(text)
    assert (problem.line, problem.path) == (
        _line_of(text, "template: request_recieved"),
        "nurture.confirmation.template",
    )
    assert problem.message == "template `request_recieved` is not declared"
    assert problem.suggestion == "did you mean `request_received`?"


def test_the_confirmation_is_an_email_and_needs_a_subject() -> None:
    problem = _only_problem(CLINIC.replace('      subject: "We received your request"\n', ""))
    assert problem.path == "nurture.confirmation.template"
    assert problem.message == (
        "template `request_received` has no subject, and the confirmation is an email"
    )
    assert problem.suggestion == "add `subject:` to template `request_received`"


@pytest.mark.parametrize("field", ["service_line", "specialty"])
def test_the_confirmation_names_no_care_area(field: str) -> None:
    text = CLINIC.replace("that your request\n", f"that your {{{field}}} request\n")
    problem = _only_problem(text)
    assert problem.path == "nurture.confirmation.template"
    assert problem.message == (
        f"template `request_received` uses `{{{field}}}`: a confirmation goes to whoever "
        "reads the inbox, so it names no care area (minimum necessary)"
    )
    assert problem.suggestion == "use only `{first_name}`, `{last_name}`, `{organization}`"


def test_an_unknown_key_under_confirmation_is_refused() -> None:
    text = CLINIC.replace(
        "    template: request_received\n", "    template: request_received\n    channel: sms\n", 1
    )
    problem = _only_problem(text)
    assert (problem.path, problem.message) == ("nurture.confirmation", "unknown field `channel`")
    assert (problem.line, problem.column) == (_line_of(text, "    channel: sms"), 5)


def test_the_definitions_document_says_what_a_form_capture_gets() -> None:
    clinic = render_definitions(load_playbook("specialty-clinic"))
    section = clinic.split("### Form confirmation\n", 1)[1].split("\n### ", 1)[0]
    assert (
        "A form capture (`appointment_requested`, `consultation_requested`, `form_submitted`) "
        "gets the template `request_received` by email at once when the lead has consented"
    ) in section
    assert "| `request_received` | We received your request | `{first_name}` |" in clinic
    without = render_definitions(load_playbook_text(CLINIC.replace(DECLARED, ""), "c.yaml"))
    assert "No form confirmation: a form capture gets no message at once." in without
    assert "### Form confirmation" not in without


def test_playbook_check_names_the_file_line_and_fix_of_a_confirmation_problem(
    tmp_path: Path,
) -> None:
    text = CLINIC.replace("    template: request_received\n", "    template: request_recieved\n")
    path = tmp_path / "clinic.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["playbook", "check", str(path)])
    assert result.exit_code == 1
    line = _line_of(text, "template: request_recieved")
    assert f"{path}:{line}:" in result.stdout
    assert "nurture.confirmation.template: template `request_recieved` is not declared" in (
        result.stdout
    )
    assert "did you mean `request_received`?" in result.stdout
