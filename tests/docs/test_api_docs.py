"""docs/api.md must match the code: every setting, every endpoint, every action rule."""

from __future__ import annotations

import re
from pathlib import Path

from leadflow.domain.stages import ALLOWED_ACTIONS, OPEN_STAGES, SalesAction
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import bootstrap
from leadflow.entrypoints.settings import Settings
from leadflow.services.store.sales import ACTION_EVENTS, NEEDS_REASON

DOC = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default() -> None:
    for name, info in Settings.model_fields.items():
        row = next((line for line in DOC.splitlines() if f"`LEADFLOW_{name.upper()}`" in line), "")
        assert row, f"LEADFLOW_{name.upper()} is not documented in docs/api.md"
        default = info.get_default(call_default_factory=True)
        shown = "{}" if default == {} else str(default)
        assert f"`{shown}`" in row, f"LEADFLOW_{name.upper()}: default {shown} not shown"


def test_every_endpoint_is_documented(tmp_path: Path) -> None:
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    schema = create_app(app).openapi()
    app.db.dispose()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in DOC, f"{method.upper()} {path} undocumented"


def test_action_table_matches_the_stage_rules() -> None:
    for action in SalesAction:
        row = next(line for line in DOC.splitlines() if line.startswith(f"| `{action.value}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"`{ACTION_EVENTS[action].value}`"
        stages = {s for s, allowed in ALLOWED_ACTIONS.items() if action in allowed}
        if cells[2] == "every open stage":
            assert stages == set(OPEN_STAGES)
        else:
            assert {s.strip() for s in cells[2].split(",")} == {s.value for s in stages}
        assert ("`reason`" in cells[3]) == (action in NEEDS_REASON)


def test_documented_error_codes_exist_in_the_api_code() -> None:
    codes = set(re.findall(r"`([a-z_]+)`(?= \(|,|\s)", DOC.split("## Errors")[1].split("##")[0]))
    source = "".join(
        p.read_text(encoding="utf-8")
        for p in (Path(__file__).parents[2] / "src" / "leadflow").rglob("*.py")
    )
    for code in codes - {"row", "allowed"}:
        assert f'"{code}"' in source, f"error code {code} documented but never produced"
