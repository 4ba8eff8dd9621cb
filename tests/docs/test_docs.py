"""Docs that cannot drift: the README quick start, the CLI and event references."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from leadflow.entrypoints.cli_reference import render_cli_reference, render_event_reference

ROOT = Path(__file__).resolve().parents[2]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the quick start has no ```sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def _make_recipe(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match is not None, f"Makefile has no `{target}` target"
    return [line.strip().lstrip("@") for line in match.group(1).splitlines()]


def test_readme_quick_start_is_exactly_the_demo_and_the_test_command() -> None:
    assert _quick_start_commands() == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in script.splitlines() if line.startswith("make ")] == ["make test"]


def test_make_test_runs_lint_format_types_layers_and_the_suite() -> None:
    recipe = " ; ".join(_make_recipe("test"))
    for step in ("ruff check", "ruff format --check", "mypy src", "lint-imports", "pytest"):
        assert step in recipe


def test_the_demo_recipe_qualifies_the_bundled_samples_and_shows_them(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    outputs = []
    for line in _make_recipe("demo"):
        command = line.replace("$(BIN)", bin_dir).replace("$(OUT)", str(tmp_path))
        if command.startswith("mkdir"):
            continue
        argv = shlex.split(command)  # our own Makefile recipe, not outside input
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    decisions = [
        json.loads(line)
        for line in (tmp_path / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(decisions) == 13
    assert {"mql", "sql", "nurture", "disqualified", "won"} <= {d["stage"] for d in decisions}
    assert all(d["reasons"] for d in decisions)
    shown = outputs[-1]
    assert "13 leads:" in shown
    assert "NW-1001" in shown


def test_cli_reference_in_docs_is_generated_from_the_commands() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert render_cli_reference() in text, (
        "docs/cli.md is out of date: python -m leadflow.entrypoints.cli_reference"
    )


def test_event_reference_in_docs_lists_every_event_type() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert render_event_reference() in text
