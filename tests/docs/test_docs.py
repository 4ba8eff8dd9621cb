"""Docs that cannot drift: the README quick start, the CLI and event references."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_demo_recipe_fills_a_database_and_serves_the_dashboard(tmp_path: Path) -> None:
    (line,) = [c for c in _make_recipe("demo") if not c.startswith("mkdir")]
    port = _free_port()
    command = (
        line.replace("$(BIN)", str(Path(sys.executable).parent))
        .replace("$(DEMO_DB)", f"sqlite:///{tmp_path / 'demo.db'}")
        .replace("$(DEMO_LEADS)", "150")
        .replace("$(PORT)", str(port))
    )
    argv = shlex.split(command)  # our own Makefile recipe, not outside input
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the demo did not start within 4 minutes"
                time.sleep(0.5)
        assert health.status_code == 200
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/", timeout=10).status_code == 303  # sign in first
        accounts = (tmp_path / "demo-accounts.txt").read_text(encoding="utf-8").split("\n")
        roles = {line.split()[0]: line.split()[1:] for line in accounts[1:] if line}
        assert set(roles) == {"admin", "intake", "sales", "marketing", "analyst"}
        email, password = roles["intake"]
        with httpx.Client(base_url=base, timeout=10) as browser:
            browser.get("/login")
            signed_in = browser.post(
                "/login",
                data={
                    "email": email,
                    "password": password,
                    "csrf": browser.cookies["leadflow_csrf"],
                    "next": "/",
                },
            )
            assert signed_in.status_code == 303
            board = browser.get("/")
            assert board.status_code == 200
            assert "150 leads" in board.text
            mqls = browser.get("/v1/leads", params={"stage": "mql"})
            assert mqls.json()["items"], "the demo has no MQL to work"
    finally:
        server.terminate()
        _, printed = server.communicate(timeout=30)
    assert f"sign in at {base}/login" in printed  # make demo says how to sign in
    assert f"intake     {email}" in printed
    assert password in printed


def test_cli_reference_in_docs_is_generated_from_the_commands() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert render_cli_reference() in text, (
        "docs/cli.md is out of date: python -m leadflow.entrypoints.cli_reference"
    )


def test_event_reference_in_docs_lists_every_event_type() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert render_event_reference() in text
