"""Threshold sweeps within a capacity, and comparing two playbooks, on the known history."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_backtest_metrics import AS_OF, by_name, history, history_playbook

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.adapters.records import read_events, read_leads
from leadflow.domain.events import SALES_TYPES, Event
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage
from leadflow.samples import sample_path
from leadflow.services.backtest import (
    BacktestInputError,
    BacktestRequest,
    parse_capacity,
    parse_outcome,
    parse_sweep,
    render_json,
    render_markdown,
    run_backtest,
    swept_playbook,
)
from leadflow.services.backtest.sweep import Sweep

GRID = "mql.fit=20:30:10,mql.intent=10:20:10"


def sweep_at(capacity: float | None) -> Sweep:
    leads, events = history()
    request = BacktestRequest(
        history_playbook(), parse_outcome("sql"), AS_OF, parse_sweep(GRID), capacity
    )
    result = run_backtest(request, leads, events)
    assert result.sweep is not None
    return result.sweep


def test_sweep_tries_every_combination_and_names_its_version() -> None:
    sweep = sweep_at(None)
    version = history_playbook().version
    assert [(t.fit_at_least, t.intent_at_least) for t in sweep.grid] == [
        (20, 10),
        (20, 20),
        (30, 10),
        (30, 20),
    ]
    assert sweep.grid[0].version == f"{version}+sweep(fit=20,intent=10)"
    low = sweep.grid[0].mql  # intent 10 adds L05 and L06 to the four MQLs
    assert (low.entered, low.reached) == (6, 4)
    assert low.per_week == pytest.approx(1.5)
    assert low.precision == pytest.approx(4 / 6)
    assert low.recall == pytest.approx(1.0)
    assert sweep.recommended is None  # no capacity, no recommendation


def test_sweep_recommends_best_precision_within_capacity() -> None:
    best = sweep_at(1.0).recommended
    assert best is not None  # (20, 20) and (30, 20) tie on everything: lower thresholds win
    assert (best.fit_at_least, best.intent_at_least) == (20, 20)
    assert best.mql.precision == pytest.approx(0.75)


def test_sweep_says_when_no_combination_fits_the_capacity() -> None:
    assert sweep_at(0.5).recommended is None


def test_capacity_alone_checks_the_playbooks_own_thresholds() -> None:
    leads, events = history()
    request = BacktestRequest(history_playbook(), parse_outcome("sql"), AS_OF, capacity=2.0)
    sweep = run_backtest(request, leads, events).sweep
    assert sweep is not None
    assert [(t.fit_at_least, t.intent_at_least) for t in sweep.grid] == [(20, 20)]
    assert sweep.recommended is sweep.grid[0]


def test_sweep_counts_the_leads_no_threshold_can_change() -> None:
    shipped = load_playbook("specialty-clinic")
    leads = [x for x in read_leads(sample_path("leads.csv")) if isinstance(x, LeadProfile)]
    events = [x for x in read_events(sample_path("events.csv")) if isinstance(x, Event)]
    no_fast = replace(shipped, mql=replace(shipped.mql, fast_track=()))
    counts = []
    for playbook in (shipped, no_fast):
        request = BacktestRequest(playbook, parse_outcome("sql"), capacity=100.0)
        sweep = run_backtest(request, leads, events).sweep
        assert sweep is not None
        counts.append(sweep.fast_tracked)
    assert counts[0] > 0
    assert counts[1] == 0


def test_shared_replay_gives_the_figures_of_a_full_replay_of_each_swept_playbook() -> None:
    leads, events = history()
    for trial in sweep_at(None).grid:
        copy = swept_playbook(history_playbook(), trial.fit_at_least, trial.intent_at_least)
        own = run_backtest(BacktestRequest(copy, parse_outcome("sql"), AS_OF), leads, events)
        assert by_name(own.per_stage, "mql") == trial.mql


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mql.fit=20:60", "START:STOP:STEP"),
        ("mql.fit=60:20:5", "STOP must not be below START"),
        ("mql.fit=20:60:0", "STEP must be above 0"),
        ("mql.fit=a:60:5", "not a number"),
        ("fit=20:60:5", "expected mql.fit"),
        ("mql.fit=20:60:5,mql.fit=20:60:5", "given twice"),
        ("mql.fit=0:100000:1", "at most"),
    ],
)
def test_bad_sweeps_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(BacktestInputError, match=message):
        parse_sweep(text)


@pytest.mark.parametrize(("text", "value"), [("40/week", 40.0), ("12.5", 12.5), ("3 / wk", 3.0)])
def test_capacity_is_read_per_week(text: str, value: float) -> None:
    assert parse_capacity(text) == value


@pytest.mark.parametrize("text", ["", "forty", "40/day", "-3/week"])
def test_bad_capacities_are_usage_errors(text: str) -> None:
    with pytest.raises(BacktestInputError, match="--capacity"):
        parse_capacity(text)


def test_compare_lists_the_leads_that_change_stage() -> None:
    leads, events = history()
    playbook = history_playbook()
    other = swept_playbook(playbook, 20, 10)
    request = BacktestRequest(playbook, parse_outcome("sql"), AS_OF, compare=other)
    comparison = run_backtest(request, leads, events).comparison
    assert comparison is not None
    # L06 (one scheduling view) becomes an MQL; L05 too had one view, but intake made it SQL.
    assert [(c.before, c.after, c.lead_ids) for c in comparison.changes] == [
        ("nurture", "mql", ("L06",))
    ]
    assert comparison.unchanged == 9
    mine, theirs = {m.name: (m, t) for m, t in comparison.stages}["mql"]
    assert (mine.entered, theirs.entered) == (4, 6)
    record = comparison.to_record()
    mql_row = next(r for r in record["per_stage"] if r["name"] == "mql")  # type: ignore[union-attr]
    assert mql_row["difference"]["entered"] == 2


def test_compare_with_a_stricter_copy_of_the_shipped_playbook() -> None:
    shipped = load_playbook("specialty-clinic")
    strict = replace(
        shipped,
        mql=replace(shipped.mql, intent_at_least=1000, fast_track=()),
        version="strict",
    )
    leads = [x for x in read_leads(sample_path("leads.csv")) if isinstance(x, LeadProfile)]
    events = [x for x in read_events(sample_path("events.csv")) if isinstance(x, Event)]
    as_of = datetime(2026, 3, 6, 12, tzinfo=UTC)
    # Known answer: exactly the leads the shipped playbook makes a "New MQL" fall back.
    expected = {
        lead.lead_id
        for lead in leads
        if (d := qualify(lead, [e for e in events if e.lead_id == lead.lead_id], shipped, as_of))
        and d.stage is Stage.MQL
        and d.status == "New MQL"
    }
    assert expected
    request = BacktestRequest(shipped, parse_outcome("sql"), as_of, compare=strict)
    comparison = run_backtest(request, leads, events).comparison
    assert comparison is not None
    assert {c.before for c in comparison.changes} == {"mql"}
    assert {i for c in comparison.changes for i in c.lead_ids} == expected


def test_json_report_has_the_documented_keys() -> None:
    leads, events = history()
    playbook = history_playbook()
    request = BacktestRequest(
        playbook,
        parse_outcome("sql"),
        AS_OF,
        parse_sweep(GRID),
        1.0,
        compare=swept_playbook(playbook, 20, 10),
    )
    result = run_backtest(request, leads, events)
    record = json.loads(render_json(result))
    for key in ("base_rate", "n_leads", "n_outcomes", "weeks", "per_stage", "per_band"):
        assert key in record
    assert record["base_rate"] == 0.4
    assert record["weeks"] == 4.0
    assert set(record["sweep"]) == {"capacity_per_week", "fast_tracked", "grid", "recommended"}
    assert record["sweep"]["fast_tracked"] == 0
    assert record["sweep"]["recommended"]["fit_at_least"] == 20
    assert set(record["compare"]) >= {"changes", "per_stage", "changed", "unchanged"}
    mql = next(s for s in record["per_stage"] if s["name"] == "mql")
    assert mql == {
        "name": "mql",
        "entered": 4,
        "volume_per_week": 1.0,
        "reached_outcome": 3,
        "precision": 0.75,
        "recall": 0.75,
        "lift": 1.875,
        "median_days_to_outcome": 4.0,
        "p90_days_to_outcome": 6.0,
        "weekly": [1, 1, 1, 1],
    }
    text = render_markdown(result)
    assert "| mql | 4 | 1.0 | 3 | 75.0% | 75.0% | 1.88 | 4.0 | 6.0 |" in text
    assert "**Recommended** within 1 MQLs per week: fit ≥ 20, intent ≥ 20" in text
    assert "| nurture | mql | 1 | L06 |" in text


@pytest.mark.parametrize(
    "name", ["specialty-clinic", "referral-partner", "healthtech-b2b", "respiratory-program"]
)
def test_thresholds_applied_to_the_shared_replay_agree_with_the_engine(name: str) -> None:
    shipped = load_playbook(name)
    leads = [x for x in read_leads(sample_path("leads.csv")) if isinstance(x, LeadProfile)]
    events = [x for x in read_events(sample_path("events.csv")) if isinstance(x, Event)]
    tracks = run_backtest(BacktestRequest(shipped, parse_outcome("sql")), leads, events).tracks
    marketing = [e for e in events if e.type not in SALES_TYPES]
    checked = 0
    for fit, intent in ((0, 0), (20, 10), (45, 35), (60, 50)):
        copy = swept_playbook(shipped, fit, intent)
        for lead, track in zip(leads, tracks, strict=True):
            own = [e for e in marketing if e.lead_id == lead.lead_id]
            for point in track.points:
                assert point.stage(fit, intent) is qualify(lead, own, copy, point.at).stage
                checked += 1
    assert checked > 0
