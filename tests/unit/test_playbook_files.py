"""Loading playbooks: YAML safety (1.1 surprises, duplicate keys, tags, alias bombs), files
by path and shipped playbooks by name, and the schema's models."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.playbook_text import BASE, SHIPPED, only_problem, problems_of

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text, shipped_playbooks
from leadflow.adapters.playbook_yaml.schema import ALL_MODELS
from leadflow.domain.conditions import AllOf, FieldTest, Op
from leadflow.errors import PlaybookError, PlaybookNotFoundError


def test_yaml_1_1_surprises_do_not_apply() -> None:
    text = BASE.replace(
        "{field: service_line, in: [cardiology]}",
        "{all: [{field: country, equals: NO}, {field: postal_code, postal_code_in: [021, 2140]}]}",
    )

    condition = load_playbook_text(text, "t.yaml").fit[0].condition

    assert condition == AllOf(
        (
            FieldTest("country", Op.EQUALS, ("NO",)),
            FieldTest("postal_code", Op.POSTAL_CODE_IN, ("021", "2140")),
        )
    )


def test_duplicate_keys_are_rejected_at_the_second_key() -> None:
    problem = only_problem(BASE.replace("      cap: 30\n", "      cap: 30\n      cap: 20\n"))

    assert (problem.line, problem.column) == (16, 7)
    assert problem.message == "duplicate key `cap` (first given on line 15)"


def test_merge_keys_and_custom_tags_are_rejected() -> None:
    tagged = only_problem(BASE.replace("name: Tiny clinic", "name: !!python/object Tiny clinic"))
    merged = problems_of(BASE.replace("      cap: 30\n", "      <<: {cap: 30}\n"))

    assert tagged.line == 2
    assert tagged.message == "the YAML tag `tag:yaml.org,2002:python/object` is not supported"
    assert merged[0].message == "merge keys (`<<`) are not supported"
    assert merged[0].line == 15


def test_recursive_aliases_and_alias_bombs_are_rejected() -> None:
    recursive = problems_of(BASE.replace("name: Tiny clinic", "name: &a [*a]"))
    levels = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]" for a, b in zip("abcde", "bcdef", strict=True)
    ]
    bomb = only_problem("\n".join(levels) + "\n")

    assert [(p.line, p.path, p.message) for p in recursive] == [
        (2, "name", "expected text"),
        (2, "name[0]", "an alias refers to a node that contains it"),
    ]
    assert (bomb.path, bomb.message) == ("", "the playbook has more than 100000 nodes")


def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    assert only_problem("").message == "the playbook is empty"
    assert only_problem("- a\n- b\n").message == "the playbook is not a mapping of keys"


def test_load_playbook_reads_a_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(BASE, encoding="utf-8")

    assert load_playbook(str(path)).id == "tiny-clinic"


def test_problems_in_a_file_name_the_path_given(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(BASE.replace("points: 10", "points: 0"), encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(path))

    assert str(caught.value) == (
        f"{path}:14:7: intent.signals[0].points: must not be 0 (remove the rule instead)"
    )


def test_missing_playbook_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(PlaybookNotFoundError, match="no playbook file at"):
        load_playbook(str(tmp_path / "absent.yaml"))


def test_unknown_playbook_name_suggests_a_shipped_one() -> None:
    with pytest.raises(PlaybookNotFoundError) as caught:
        load_playbook("specialty-clinics")

    message = str(caught.value)
    assert "no shipped playbook named `specialty-clinics`" in message
    assert "did you mean `specialty-clinic`?" in message
    assert "shipped playbooks: " + ", ".join(SHIPPED) in message


def test_shipped_playbooks_are_listed_by_name() -> None:
    assert shipped_playbooks() == sorted(shipped_playbooks())
    assert set(SHIPPED) <= set(shipped_playbooks())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_playbook_loads_by_name(name: str) -> None:
    playbook = load_playbook(name)

    assert playbook.id == name
    assert len(playbook.version) == 12


def test_every_schema_model_forbids_unknown_keys_and_is_frozen() -> None:
    for model in ALL_MODELS:
        assert model.model_config.get("extra") == "forbid", model
        assert model.model_config.get("frozen") is True, model
