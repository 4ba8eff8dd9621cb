"""The deployment file (``leadflow.yaml``): how a deployment picks a lead's playbook.

Read like a playbook (YAML 1.2 core schema, safe loader, every node's line kept),
validated by pydantic models that forbid unknown keys, then checked as a whole (rule ids
unique, every named playbook known). Every problem is raised together in one
:class:`leadflow.errors.ConfigError`, each with its file, line, column and a fix.
"""

from __future__ import annotations

from collections.abc import Collection
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from pydantic import ValidationError

from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, did_you_mean
from leadflow.adapters.playbook_yaml.loader import located
from leadflow.adapters.playbook_yaml.matchers import Model
from leadflow.adapters.playbook_yaml.source import Source, YamlSyntaxError, parse
from leadflow.adapters.playbook_yaml.validation import issues_from
from leadflow.adapters.playbook_yaml.values import LeadTypeName, NonEmpty, RuleId
from leadflow.domain.playbook_choice import ChoiceRule, PlaybookChoice, keys
from leadflow.errors import ConfigError, PlaybookProblem

SHIPPED = "leadflow.yaml (shipped)"


class When(Model):
    """The values a lead's fields must have (a field left out accepts any value)."""

    lead_type: Annotated[tuple[LeadTypeName, ...], NonEmpty] | None = None
    service_line: Annotated[tuple[str, ...], NonEmpty] | None = None
    source: Annotated[tuple[str, ...], NonEmpty] | None = None


class Rule(Model):
    id: RuleId
    when: When
    playbook: Annotated[str, NonEmpty]


class Choice(Model):
    rules: tuple[Rule, ...] = ()
    default: Annotated[str, NonEmpty]


class Deployment(Model):
    playbook_choice: Choice


def _checks(model: Deployment, known: Collection[str]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, rule in enumerate(model.playbook_choice.rules):
        if rule.id in seen:
            issues.append(Issue(("playbook_choice", "rules", i, "id"), f"rule `{rule.id}` twice"))
        seen.add(rule.id)
    named: list[tuple[NodePath, str]] = [
        (("playbook_choice", "default"), model.playbook_choice.default)
    ]
    named += [
        (("playbook_choice", "rules", i, "playbook"), r.playbook)
        for i, r in enumerate(model.playbook_choice.rules)
    ]
    for path, name in named:
        if name not in known:
            hint = did_you_mean(name, known) or "known: " + ", ".join(sorted(known))
            issues.append(Issue(path, f"no playbook named `{name}`", hint))
    return issues


def _compile(model: Deployment, file: str) -> PlaybookChoice:
    choice = model.playbook_choice
    rules = tuple(
        ChoiceRule(
            id=r.id,
            playbook=r.playbook,
            lead_types=keys(r.when.lead_type) if r.when.lead_type else None,
            service_lines=keys(r.when.service_line) if r.when.service_line else None,
            sources=keys(r.when.source) if r.when.source else None,
        )
        for r in choice.rules
    )
    return PlaybookChoice(rules, choice.default, file)


def _raise(file: str, source: Source, issues: list[Issue]) -> ConfigError:
    return ConfigError(located(file, source, issues))


def load_choice_text(text: str, file: str, known: Collection[str]) -> PlaybookChoice:
    """The playbook choice of a deployment file's ``text``; ``known``: the playbook names."""
    try:
        source = parse(text)
    except YamlSyntaxError as exc:
        raise _raise(file, Source(data=None), [exc.issue]) from exc
    issues = list(source.issues)
    if not isinstance(source.data, dict):
        issues.append(
            Issue((), "the file is not a mapping of keys", "start with `playbook_choice:`")
        )
        raise _raise(file, source, issues)
    try:
        model = Deployment.model_validate(source.data)
    except ValidationError as exc:
        raise _raise(file, source, issues + issues_from(exc, source.data, Deployment)) from exc
    issues += _checks(model, known)
    if issues:
        raise _raise(file, source, issues)
    return _compile(model, file)


def load_choice(path: str | None, known: Collection[str]) -> PlaybookChoice:
    """The deployment file at ``path`` (``None``: the shipped default)."""
    if path is None:
        text = (files("leadflow") / "config" / "leadflow.yaml").read_text(encoding="utf-8")
        return load_choice_text(text, SHIPPED, known)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        problem = PlaybookProblem(path, None, None, "", "no such file", "check LEADFLOW_CONFIG")
        raise ConfigError([problem]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        problem = PlaybookProblem(path, None, None, "", f"cannot be read: {type(exc).__name__}")
        raise ConfigError([problem]) from exc
    return load_choice_text(text, path, known)
