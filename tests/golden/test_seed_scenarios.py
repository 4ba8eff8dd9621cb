"""The seeds' worked examples, run through the shipped playbooks as golden tests.

Each scenario in ``scenarios/*.yaml`` states the expected stage, status and the rules that
must (or must not) appear among the reasons and blockers. The full decision record is also
compared with ``expected/<name>.json`` so that any change to a shipped playbook's outcome is
seen in review; regenerate those with ``LEADFLOW_UPDATE_GOLDEN=1 pytest tests/golden``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify

HERE = Path(__file__).parent
SCENARIO_FILES = sorted((HERE / "scenarios").glob("*.yaml"))
UPDATE = os.environ.get("LEADFLOW_UPDATE_GOLDEN") == "1"


def _scenarios() -> list[Any]:
    params = []
    for path in SCENARIO_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for scenario in document["scenarios"]:
            params.append(
                pytest.param(document["playbook"], scenario, id=f"{path.stem}:{scenario['name']}")
            )
    return params


def _profile(data: dict[str, Any]) -> LeadProfile:
    return LeadProfile(**{k: v for k, v in data.items() if k != "custom"})


def _events(lead_id: str, rows: list[dict[str, Any]]) -> list[Event]:
    return [
        Event(
            event_id=row["event_id"],
            lead_id=lead_id,
            type=EventType(row["type"]),
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            properties=MappingProxyType(dict(row.get("properties") or {})),
        )
        for row in rows
    ]


def _rules(items: list[dict[str, Any]]) -> list[str]:
    return [item["rule"] for item in items]


# What each key of a scenario's `expect` asserts about the decision record.
CHECKS: dict[str, Callable[[dict[str, Any], Any], bool]] = {
    "stage": lambda r, v: r["stage"] == v,
    "stage_in": lambda r, v: r["stage"] in v,
    "not_stage": lambda r, v: r["stage"] != v,
    "status": lambda r, v: r["status"] == v,
    "reasons": lambda r, v: set(v) <= set(_rules(r["reasons"])),
    "not_reasons": lambda r, v: not set(v) & set(_rules(r["reasons"])),
    "blockers": lambda r, v: set(v) <= set(_rules(r["blockers"])),
    "not_blockers": lambda r, v: not set(v) & set(_rules(r["blockers"])),
    "disqualification_reason": lambda r, v: r["disqualification_reason"] == v,
    "route_queue": lambda r, v: r["route"]["queue"] == v,
    "max_intent": lambda r, v: r["intent_score"] <= v,
    "reason_label_contains": lambda r, v: any(v in x["label"] for x in r["reasons"]),
    "next_action_contains": lambda r, v: v in r["next_action"],
}


def test_there_are_at_least_ten_seed_scenarios_across_all_four_playbooks() -> None:
    params = _scenarios()
    assert len(params) >= 10
    assert {p.values[0] for p in params} == {
        "specialty-clinic",
        "referral-partner",
        "healthtech-b2b",
        "respiratory-program",
    }


@pytest.mark.parametrize(("playbook_name", "scenario"), _scenarios())
def test_seed_example_comes_out_as_the_seed_says(
    playbook_name: str, scenario: dict[str, Any]
) -> None:
    playbook = load_playbook(playbook_name)
    profile = _profile(scenario["lead"])
    events = _events(profile.lead_id, scenario["events"])
    as_of = datetime.fromisoformat(scenario["as_of"])
    decision = qualify(profile, events, playbook, as_of)
    record = decision.to_record()
    expect = scenario["expect"]
    for key, value in expect.items():
        assert CHECKS[key](record, value), (key, value, record)
    assert record["disqualification_reason"] == expect.get("disqualification_reason"), record
    # Every reason that carries evidence points at events of this lead.
    known_ids = {e.event_id for e in events}
    for reason in record["reasons"]:
        assert set(reason["evidence"]) <= known_ids

    snapshot = HERE / "expected" / f"{scenario['name']}.json"
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE:
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.exists(), f"no golden file {snapshot.name}; run with LEADFLOW_UPDATE_GOLDEN=1"
    assert json.loads(snapshot.read_text(encoding="utf-8")) == record
