"""Choosing a lead's playbook: the rules, the deployment file's errors, playbooks of one's
own (``playbook new``) and a changed playbook file picked up without a restart."""

from __future__ import annotations

import json
import logging
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.adapters.deployment import SHIPPED, load_choice, load_choice_text
from leadflow.adapters.playbook_files import Playbooks
from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.domain.playbook_choice import (
    ChoiceRule,
    Chosen,
    PlaybookChoice,
    choice_reasons,
    keys,
)
from leadflow.domain.profile import LeadProfile
from leadflow.entrypoints.cli import app as cli
from leadflow.entrypoints.deployment_cli import new_playbook
from leadflow.errors import ConfigError, PlaybookNotFoundError

KNOWN = shipped_playbooks()


def _lead(**fields: str) -> LeadProfile:
    return LeadProfile(lead_id="L-1", **fields)  # type: ignore[arg-type]


# -- the rules ------------------------------------------------------------------------------

SHIPPED_CHOICE = load_choice(None, KNOWN)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"lead_type": "b2b"}, Chosen("healthtech-b2b", "b2b")),
        ({"lead_type": "referral_partner"}, Chosen("referral-partner", "referral_partner")),
        (
            {"lead_type": "patient", "service_line": "pulmonology"},
            Chosen("respiratory-program", "respiratory"),
        ),
        (
            {"lead_type": "patient", "service_line": "Sleep Medicine"},
            Chosen("respiratory-program", "respiratory"),
        ),
        (
            {"lead_type": "Patient", "service_line": "sleep-medicine"},
            Chosen("respiratory-program", "respiratory"),
        ),
        (
            {"lead_type": "patient", "service_line": "cardiology"},
            Chosen("specialty-clinic", "patient"),
        ),
        ({"lead_type": "patient"}, Chosen("specialty-clinic", "patient")),
        ({}, Chosen("specialty-clinic", "default")),
        ({"lead_type": "b2b", "playbook": "specialty-clinic"}, Chosen("specialty-clinic", None)),
    ],
)
def test_the_shipped_rules_choose_by_lead_type_and_service_line(
    fields: dict[str, str], expected: Chosen
) -> None:
    assert SHIPPED_CHOICE.choose(_lead(**fields)) == expected


def test_the_first_matching_rule_wins_and_a_missing_field_matches_no_listed_value() -> None:
    choice = PlaybookChoice(
        (
            ChoiceRule("webinar", "referral-partner", sources=keys(["Webinar"])),
            ChoiceRule("b2b", "healthtech-b2b", lead_types=keys(["b2b"])),
        ),
        "specialty-clinic",
    )
    assert choice.choose(_lead(lead_type="b2b", source="webinar")).rule == "webinar"
    assert choice.choose(_lead(lead_type="b2b")).rule == "b2b"
    assert choice.choose(_lead(source="web")) == Chosen("specialty-clinic", "default")


def test_every_shipped_rule_names_a_playbook_written_for_its_lead_types() -> None:
    for rule in SHIPPED_CHOICE.rules:
        assert rule.lead_types is not None
        assert rule.lead_types <= load_playbook(rule.playbook).lead_types, rule.id


def test_the_reasons_name_the_rule_and_warn_of_a_playbook_not_for_the_lead_type() -> None:
    clinic = load_playbook("specialty-clinic")
    b2b = load_playbook("healthtech-b2b")
    assert [r.label for r in choice_reasons("b2b", "b2b", b2b)] == ["Playbook chosen by rule `b2b`"]
    assert choice_reasons(None, "b2b", b2b) == []
    assert choice_reasons(None, None, clinic) == []
    (warning,) = choice_reasons(None, "b2b", clinic)
    assert (warning.rule, warning.points) == ("playbook.lead_type_mismatch", 0)
    assert "`specialty-clinic` is written for `patient` leads, not lead type `b2b`" in warning.label


# -- the deployment file --------------------------------------------------------------------


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_choice_text(text, "site/leadflow.yaml", KNOWN)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_deployment_file_loads() -> None:
    assert SHIPPED_CHOICE.source == SHIPPED
    assert SHIPPED_CHOICE.default == "specialty-clinic"
    assert [r.id for r in SHIPPED_CHOICE.rules] == [
        "respiratory",
        "patient",
        "referral_partner",
        "b2b",
    ]


def test_an_unknown_key_is_named_with_its_line_and_a_suggestion() -> None:
    text = (
        "playbook_choice:\n"
        "  rules:\n"
        "    - id: b2b\n"
        "      when: {lead_typ: [b2b]}\n"
        "      playbook: healthtech-b2b\n"
        "  default: specialty-clinic\n"
    )
    (problem,) = _problems(text)
    assert problem.startswith("site/leadflow.yaml:4:")
    assert "playbook_choice.rules[0].when" in problem
    assert "unknown field `lead_typ`" in problem
    assert "did you mean `lead_type`?" in problem


def test_unknown_playbooks_duplicate_ids_and_bad_lead_types_are_all_reported() -> None:
    text = (
        "playbook_choice:\n"
        "  rules:\n"
        "    - id: one\n"
        "      when: {lead_type: [b2b]}\n"
        "      playbook: healthtech-b2c\n"
        "    - id: one\n"
        "      when: {lead_type: [patient]}\n"
        "      playbook: specialty-clinic\n"
        "  default: nowhere\n"
    )
    problems = _problems(text)
    assert problems[0].startswith("site/leadflow.yaml:5:")
    assert "no playbook named `healthtech-b2c`" in problems[0]
    assert "did you mean `healthtech-b2b`?" in problems[0]
    assert problems[1].startswith("site/leadflow.yaml:6:")
    assert "rule `one` twice" in problems[1]
    assert problems[2].startswith("site/leadflow.yaml:9:")
    assert "no playbook named `nowhere`" in problems[2]
    bad_type = _problems(text.replace("[patient]", "[patients]"))
    assert any("site/leadflow.yaml:7:" in p and "lead_type" in p for p in bad_type)


def test_a_missing_default_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    (problem,) = _problems("playbook_choice:\n  rules: []\n")
    assert "missing required field `default`" in problem
    with pytest.raises(ConfigError, match="no such file"):
        load_choice(str(tmp_path / "absent.yaml"), KNOWN)


# -- playbooks of one's own -----------------------------------------------------------------


def test_playbook_new_copies_a_shipped_playbook_with_its_id_changed(tmp_path: Path) -> None:
    path, version = new_playbook(Playbooks(), "north-clinic", "specialty-clinic", tmp_path)
    assert path == tmp_path / "north-clinic.yaml"
    copy = load_playbook(str(path))
    assert (copy.id, copy.version) == ("north-clinic", version)
    shipped = (files("leadflow") / "playbooks" / "specialty-clinic.yaml").read_text("utf-8")
    assert path.read_text("utf-8") == shipped.replace("id: specialty-clinic", "id: north-clinic", 1)
    assert Playbooks(tmp_path)("north-clinic").id == "north-clinic"


def test_playbook_new_refuses_to_overwrite_and_refuses_a_path_for_a_name(tmp_path: Path) -> None:
    new_playbook(Playbooks(), "north-clinic", "specialty-clinic", tmp_path)
    before = (tmp_path / "north-clinic.yaml").read_text("utf-8")
    with pytest.raises(FileExistsError):
        new_playbook(Playbooks(), "north-clinic", "healthtech-b2b", tmp_path)
    assert (tmp_path / "north-clinic.yaml").read_text("utf-8") == before
    with pytest.raises(PlaybookNotFoundError, match="not a playbook name"):
        new_playbook(Playbooks(), "../etc", "specialty-clinic", tmp_path)
    with pytest.raises(PlaybookNotFoundError, match="no playbook named `nope`"):
        new_playbook(Playbooks(), "other", "nope", tmp_path)


def test_the_playbook_new_command_writes_into_the_folder_and_says_what_next(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    args = ["playbook", "new", "lung-team", "--from", "respiratory-program"]
    first = runner.invoke(cli, [*args, "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.stderr
    assert f"wrote {tmp_path / 'lung-team.yaml'}" in first.stdout
    again = runner.invoke(cli, args, env={"LEADFLOW_PLAYBOOK_DIR": str(tmp_path)})
    assert again.exit_code == 2
    assert "exists: not overwritten" in again.stderr
    nowhere = runner.invoke(cli, args, env={"LEADFLOW_PLAYBOOK_DIR": ""})
    assert nowhere.exit_code == 2
    assert "give --dir DIR or set LEADFLOW_PLAYBOOK_DIR" in nowhere.stderr


# -- a changed playbook file ----------------------------------------------------------------


class _Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_file_is_checked_once_per_interval_and_a_broken_edit_keeps_the_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, first = new_playbook(Playbooks(), "north-clinic", "specialty-clinic", tmp_path)
    ticks = _Ticks()
    playbooks = Playbooks(tmp_path, reload_s=5, monotonic=ticks)
    assert playbooks("north-clinic").version == first
    good = path.read_text("utf-8")
    path.write_text(good.replace("fit_at_least: 45", "fit_at_least: 50", 1), "utf-8")
    ticks.now += 4
    assert playbooks("north-clinic").version == first  # not checked yet
    ticks.now += 1
    second = playbooks("north-clinic").version
    assert second != first

    path.write_text(good + "\nunknown_section: 1\n", "utf-8")
    ticks.now += 5
    with caplog.at_level(logging.WARNING, logger="leadflow.adapters.playbook_files"):
        assert playbooks("north-clinic").version == second
        ticks.now += 5
        assert playbooks("north-clinic").version == second
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"{path}:" in warning
    assert "unknown field `unknown_section`" in warning
    assert f"version {second} keeps serving" in warning


def test_a_file_touched_but_not_changed_keeps_its_version_and_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, first = new_playbook(Playbooks(), "north-clinic", "specialty-clinic", tmp_path)
    playbooks = Playbooks(tmp_path, reload_s=0)
    loaded = playbooks("north-clinic")
    path.write_text(path.read_text("utf-8"), "utf-8")
    with caplog.at_level(logging.INFO, logger="leadflow.adapters.playbook_files"):
        assert playbooks("north-clinic") is loaded
    assert caplog.records == []
    assert loaded.version == first


# -- qualify on files -----------------------------------------------------------------------


def test_qualify_without_a_playbook_decides_each_lead_under_the_one_its_type_calls_for(
    tmp_path: Path,
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,lead_type,playbook,email,role,org_type,service_line,state,country\n"
        "Q-B2B,b2b,,it@clinic.example.com,cio,clinic,,TX,US\n"
        "Q-REF,referral_partner,,office@practice.example.com,,practice,,MA,US\n"
        "Q-RESP,patient,,pat@example.org,,,sleep medicine,MA,US\n"
        "Q-NAMED,b2b,specialty-clinic,x@clinic.example.com,cio,clinic,,MA,US\n",
        encoding="utf-8",
    )
    args = ["qualify", "--leads", str(leads), "--as-of", "2026-03-06T12:00:00Z"]
    result = CliRunner().invoke(cli, args, env={"LEADFLOW_CONFIG": None})
    assert result.exit_code == 0, result.stderr
    decisions = {d["lead_id"]: d for d in map(json.loads, result.stdout.splitlines())}
    playbooks = {k: d["playbook"]["id"] for k, d in decisions.items()}
    assert playbooks == {
        "Q-B2B": "healthtech-b2b",
        "Q-REF": "referral-partner",
        "Q-RESP": "respiratory-program",
        "Q-NAMED": "specialty-clinic",
    }
    assert decisions["Q-B2B"]["stage"] != "disqualified"
    rules = {k: [r["rule"] for r in d["reasons"]][:1] for k, d in decisions.items()}
    assert rules["Q-B2B"] == ["playbook.chosen"]
    assert rules["Q-NAMED"] == ["playbook.lead_type_mismatch"]


def test_qualify_names_a_broken_deployment_file_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text("playbook_choice:\n  default: specialty-clinc\n", encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,lead_type\nQ-1,b2b\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["qualify", "--leads", str(leads)], env={"LEADFLOW_CONFIG": str(config)}
    )
    assert result.exit_code == 2
    assert f"{config}:2:" in result.stderr
    assert "no playbook named `specialty-clinc`" in result.stderr
