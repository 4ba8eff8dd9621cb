"""Backtest figures on a synthetic history whose right answers are known.

The history (tests/data/backtest): 10 leads over 4 weeks from Monday 5 January 2026. Four
become MQL, one a week (L01–L04); three of them reach SQL (L01 after 2 days, L02 after 4,
L03 after 6); one lead that never became an MQL reaches SQL too (L05). So the base rate is
4/10, MQL precision 3/4, recall 3/4, lift 0.75/0.4 = 1.875, median 4 days, p90 6 days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.adapters.records import read_events, read_leads
from leadflow.domain.events import SALES_TYPES, Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.errors import LeadflowError
from leadflow.services.backtest import (
    BacktestInputError,
    BacktestRequest,
    BacktestResult,
    parse_outcome,
    run_backtest,
)
from leadflow.services.backtest.metrics import GroupMetrics, nearest_rank
from leadflow.services.backtest.outcomes import OutcomeHit
from leadflow.services.backtest.replay import replay_lead, unreachable

HISTORY = Path(__file__).parents[1] / "data" / "backtest"
AS_OF = datetime(2026, 2, 2, 9, tzinfo=UTC)


def history_playbook() -> Playbook:
    return load_playbook(str(HISTORY / "playbook.yaml"))


def history() -> tuple[list[LeadProfile], list[Event]]:
    leads = [x for x in read_leads(HISTORY / "leads.csv") if isinstance(x, LeadProfile)]
    events = [x for x in read_events(HISTORY / "events.csv") if isinstance(x, Event)]
    return leads, events


def backtest(outcome: str = "sql", playbook: Playbook | None = None) -> BacktestResult:
    leads, events = history()
    request = BacktestRequest(playbook or history_playbook(), parse_outcome(outcome), AS_OF)
    return run_backtest(request, leads, events)


def by_name(rows: tuple[GroupMetrics, ...], name: str) -> GroupMetrics:
    return next(m for m in rows if m.name == name)


def test_mql_precision_recall_lift_and_time_to_sql_match_the_known_history() -> None:
    result = backtest()
    assert (result.totals.n_leads, result.totals.n_outcomes) == (10, 4)
    assert result.totals.base_rate == pytest.approx(0.4)
    assert result.totals.window.weeks == pytest.approx(4.0)
    mql = by_name(result.per_stage, "mql")
    assert (mql.entered, mql.reached) == (4, 3)
    assert mql.per_week == pytest.approx(1.0)
    assert mql.weekly == (1, 1, 1, 1)
    assert mql.precision == pytest.approx(0.75)
    assert mql.recall == pytest.approx(0.75)
    assert mql.lift == pytest.approx(1.875)
    assert mql.median_days == pytest.approx(4.0)
    assert mql.p90_days == pytest.approx(6.0)


def test_other_stages_and_bands_count_first_entries() -> None:
    result = backtest()
    nurture = by_name(result.per_stage, "nurture")  # L02 before its 2nd view, L05-L07, L09
    assert (nurture.entered, nurture.reached) == (5, 2)
    disqualified = by_name(result.per_stage, "disqualified")  # L10, out of area
    assert (disqualified.entered, disqualified.reached) == (1, 0)
    warm = by_name(result.per_band, "warm")  # L01-L06 and L10
    assert (warm.entered, warm.reached) == (7, 4)
    assert warm.recall == pytest.approx(1.0)
    assert by_name(result.per_band, "hot").entered == 0
    assert by_name(result.per_band, "rest").entered == 2  # L07 (no intent), L09 (no fit)


def test_won_outcome_is_the_first_closed_won_event() -> None:
    result = backtest("won")
    assert result.totals.n_outcomes == 1  # L03, won 11 days after it became an MQL
    mql = by_name(result.per_stage, "mql")
    assert (mql.entered, mql.reached) == (4, 1)
    assert mql.median_days == pytest.approx(11.0)


def test_column_outcome_counts_truthy_values_and_has_no_time() -> None:
    result = backtest("converted")  # yes (L01) and TRUE (L05); "no" and blank do not count
    assert result.totals.n_outcomes == 2
    assert not result.totals.timed
    mql = by_name(result.per_stage, "mql")
    assert mql.reached == 1
    assert mql.median_days is None
    assert mql.p90_days is None


def test_sales_facts_never_make_their_own_prediction() -> None:
    text = (HISTORY / "playbook.yaml").read_text(encoding="utf-8")
    leaky = text.replace(
        "on: {type: form_submitted}", "on: {type: [form_submitted, discovery_completed]}"
    )
    playbook = load_playbook_text(leaky, "leaky.yaml")
    profile = LeadProfile("X1", service_line="cardiology", state="MA", consent_email=True)
    profile = replace(profile, email="x1@example.com")
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    events = [
        Event("X1-1", "X1", EventType.EMAIL_OPENED, start),
        Event(
            "X1-2",
            "X1",
            EventType.DISCOVERY_COMPLETED,
            start + timedelta(days=1),
            {"need_confirmed": True},
        ),
    ]
    # The engine itself would count the discovery as intent...
    assert qualify(profile, events, playbook, start + timedelta(days=2)).intent_score == 20
    # ...but the replay never sees it, so the lead is never an MQL.
    request = BacktestRequest(playbook, parse_outcome("sql"), start + timedelta(days=2))
    result = run_backtest(request, [profile], events)
    assert result.totals.n_outcomes == 1
    assert by_name(result.per_stage, "mql").entered == 0
    assert by_name(result.per_stage, "nurture").entered == 1


def test_replay_uses_only_events_strictly_before_the_outcome() -> None:
    playbook = unreachable(history_playbook())
    profile = LeadProfile("Y1", service_line="cardiology", state="MA", email="y1@example.com")
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    events = [
        Event("Y1-1", "Y1", EventType.PAGE_VIEWED, start, {"page_category": "scheduling"}),
        Event("Y1-2", "Y1", EventType.FORM_SUBMITTED, start + timedelta(days=1)),
    ]
    hit = run_backtest(
        BacktestRequest(history_playbook(), parse_outcome("sql"), start), [profile], events
    ).tracks[0]
    assert hit.outcome is None
    outcome = OutcomeHit(start + timedelta(days=1), timed=True)
    points = replay_lead(profile, events, playbook, outcome, start + timedelta(days=3))
    assert [p.at for p in points] == [start]  # the form, at the outcome instant, is not seen


def test_derived_stages_match_the_engine_under_the_playbooks_own_thresholds() -> None:
    leads, events = history()
    playbook = history_playbook()
    marketing = [e for e in events if e.type not in SALES_TYPES]
    gate = playbook.mql
    checked = 0
    for lead, track in zip(leads, backtest().tracks, strict=True):
        own = [e for e in marketing if e.lead_id == lead.lead_id]
        for point in track.points:
            engine = qualify(lead, own, playbook, point.at)
            assert point.stage(gate.fit_at_least, gate.intent_at_least) is engine.stage
            assert point.band == engine.band
            checked += 1
    assert checked == 10  # one per instant: L02 has two, L08 none


def test_an_entry_at_the_end_of_the_history_counts_in_the_last_week() -> None:
    leads, events = history()
    request = BacktestRequest(history_playbook(), parse_outcome("sql"), AS_OF)
    late = Event("E99", "L08", EventType.FORM_SUBMITTED, AS_OF)
    result = run_backtest(request, leads, [*events, late])
    assert by_name(result.per_stage, "mql").weekly == (1, 1, 1, 2)


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([6.0, 2.0, 4.0], 0.9) == 6.0
    assert nearest_rank([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert nearest_rank([3.0], 0.5) == 3.0


@pytest.mark.parametrize("text", ["", "a b", "won!"])
def test_bad_outcome_words_are_usage_errors(text: str) -> None:
    with pytest.raises(BacktestInputError, match="--outcome"):
        parse_outcome(text)


def test_backtest_without_events_or_instant_is_refused() -> None:
    request = BacktestRequest(history_playbook(), parse_outcome("sql"))
    with pytest.raises(LeadflowError, match="as-of"):
        run_backtest(request, [LeadProfile("Z")], [])
