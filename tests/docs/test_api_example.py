"""The curl walk-through in docs/api.md, run against the API: the caregiver becomes an MQL
with the documented reasons, then an SQL through the actions."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from fastapi.testclient import TestClient

from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings

LOCAL = "http://127.0.0.1"  # open local mode answers requests addressed to this machine only

DOC = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


def _curl_commands() -> list[list[str]]:
    section = DOC.split("### The caregiver from the seeds, with curl")[1].split("```sh")[1]
    block = section.split("```")[0].replace("\\\n", " ")
    commands, current = [], ""
    for line in block.splitlines():
        if line.startswith("curl "):
            if current:
                commands.append(current)
            current = line
        elif line.startswith("#"):
            continue
        else:
            current += " " + line
    commands.append(current)
    return [shlex.split(c) for c in commands if c.strip()]


def _request(args: list[str]) -> tuple[str, str, dict[str, str], object]:
    method, url, headers, body = "GET", "", {}, None
    it = iter(args[1:])
    for arg in it:
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(": ")
            headers[name] = value
        elif arg == "-d":
            body = json.loads(next(it))
        elif arg.startswith("localhost:"):
            url = arg.removeprefix("localhost:8000")
    return method, url, headers, body


def test_the_documented_curl_walk_through_works(tmp_path: Path) -> None:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'doc.db'}"), migrate=True)
    commands = _curl_commands()
    assert len(commands) == 5
    with TestClient(create_app(app), base_url=LOCAL) as client:
        answers = []
        for args in commands:
            method, url, headers, body = _request(args)
            response = client.request(method, url, headers=headers, json=body)
            assert response.status_code in {200, 201}, (url, response.text)
            answers.append(response.json())
    app.db.dispose()
    assert answers[1]["leads"][0]["stage"] == "mql"
    decision = answers[2]["decision"]
    documented = re.search(r"# → reasons: (.+?);\s*#\s*blockers", DOC, re.S)
    assert documented is not None
    reasons = [r.strip() for r in documented.group(1).replace("#", "").split(",")]
    assert [r["rule"] for r in decision["reasons"]] == reasons
    assert answers[3]["decision"]["stage"] == "sales_accepted"
    assert answers[4]["decision"]["stage"] == "sql"
    assert answers[4]["decision"]["status"] == "SQL-ready"
