"""Load a playbook by shipped name or file path: parse, validate, compile, check.

Every problem found is collected and raised together as one :class:`PlaybookError`, each
problem placed at its file, line and column with a suggested fix.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import ValidationError

from leadflow.adapters.playbook_yaml.checks import check_playbook
from leadflow.adapters.playbook_yaml.compile import compile_playbook
from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, Position, did_you_mean, dotted
from leadflow.adapters.playbook_yaml.schema import PlaybookModel
from leadflow.adapters.playbook_yaml.source import Source, YamlSyntaxError, parse
from leadflow.adapters.playbook_yaml.validation import issues_from
from leadflow.adapters.reference import reference_data
from leadflow.domain.playbook import Playbook
from leadflow.errors import PlaybookError, PlaybookNotFoundError, PlaybookProblem

SUFFIXES = (".yaml", ".yml")


def _shipped_dir() -> Traversable:
    return files("leadflow") / "playbooks"


def shipped_playbooks() -> list[str]:
    """The names of the playbooks shipped with leadflow, sorted."""
    folder = _shipped_dir()
    if not folder.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".yaml")
    )


def _locate(source: Source, issue: Issue) -> Position | None:
    if issue.position is not None:
        return issue.position
    node: NodePath = issue.node if issue.node is not None else issue.path
    while node not in source.positions and node:
        node = node[:-1]
    return source.positions.get(node)


def _problem(file: str, source: Source, issue: Issue) -> PlaybookProblem:
    line, column = _locate(source, issue) or (None, None)
    return PlaybookProblem(file, line, column, dotted(issue.path), issue.message, issue.suggestion)


def located(file: str, source: Source, issues: list[Issue]) -> list[PlaybookProblem]:
    """The issues placed at their file, line and column, in the file's order."""
    problems = [_problem(file, source, i) for i in issues]
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


def _error(file: str, source: Source, issues: list[Issue]) -> PlaybookError:
    return PlaybookError(located(file, source, issues))


def load_playbook_text(text: str, file: str) -> Playbook:
    """Load a playbook from YAML ``text``; ``file`` names it in problems."""
    try:
        source = parse(text)
    except YamlSyntaxError as exc:
        raise _error(file, Source(data=None), [exc.issue]) from exc
    issues = list(source.issues)
    if not isinstance(source.data, dict):
        what = "empty" if source.data is None else "not a mapping of keys"
        issues.append(Issue((), f"the playbook is {what}", "start with `id:`, `name:`, …"))
        raise _error(file, source, issues)
    try:
        model = PlaybookModel.model_validate(source.data)
    except ValidationError as exc:
        raise _error(file, source, issues + issues_from(exc, source.data, PlaybookModel)) from exc
    playbook = compile_playbook(model, reference_data())
    issues += check_playbook(playbook)
    if issues:
        raise _error(file, source, issues)
    return playbook


def _read(path: Path | Traversable, file: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem = PlaybookProblem(file, None, None, "", "the file is not UTF-8 text")
        raise PlaybookError([problem]) from exc


def load_playbook(name_or_path: str) -> Playbook:
    """Load a playbook file (an existing path, or a name ending in .yaml/.yml) or a shipped one.

    Raises :class:`PlaybookNotFoundError` when neither exists, :class:`PlaybookError` when
    the playbook has problems.
    """
    path = Path(name_or_path)
    if path.is_file() or path.suffix in SUFFIXES:
        if not path.is_file():
            raise PlaybookNotFoundError(f"no playbook file at {name_or_path}")
        return load_playbook_text(_read(path, name_or_path), name_or_path)
    shipped = shipped_playbooks()
    if name_or_path not in shipped:
        known = ", ".join(shipped) if shipped else "none"
        hint = did_you_mean(name_or_path, shipped)
        message = f"no shipped playbook named `{name_or_path}`"
        message += f" ({hint})" if hint else ""
        message += f"; shipped playbooks: {known}; or give the path of a .yaml file"
        raise PlaybookNotFoundError(message)
    file = f"playbooks/{name_or_path}.yaml"
    return load_playbook_text(_read(_shipped_dir() / f"{name_or_path}.yaml", file), file)
