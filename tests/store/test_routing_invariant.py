"""The routing invariant holds for every open lead of a filled demo store: owner in the team
of its queue, at most one running clock, on that queue with the SLA of the lead's stage and
band (``services/routing/invariant.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.demo_cli import fill_demo
from leadflow.entrypoints.settings import Settings
from leadflow.services.routing.invariant import route_problems


def _problems(app: App) -> tuple[int, dict[str, list[str]]]:
    with app.db.view() as view:
        leads = view.routed_leads()
    found = {}
    for lead in leads:
        assert lead.route is not None, f"{lead.lead_id}: a running clock without a route"
        problems = route_problems(app.playbooks(lead.route.playbook_id), lead)
        if problems:
            found[lead.lead_id] = problems
    return len(leads), found


def test_every_open_lead_of_the_seed_7_demo_keeps_the_invariant(tmp_path: Path) -> None:
    # the store of `leadflow demo-data --leads 1500 --seed 7`, where 3 of 33 open leads broke it
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), migrate=True)
    try:
        fill_demo(app, 1500, 7, None)
        routed, problems = _problems(app)
    finally:
        app.db.dispose()
    assert routed >= 20
    assert problems == {}


@pytest.mark.parametrize("seed", [3])
def test_every_open_lead_of_other_demos_keeps_the_invariant(
    make_app: Callable[..., App], seed: int
) -> None:
    app = make_app()
    fill_demo(app, 500, seed, None)
    routed, problems = _problems(app)
    assert routed >= 5
    assert problems == {}
