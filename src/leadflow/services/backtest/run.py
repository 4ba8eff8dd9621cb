"""The backtest use case: replay, measure, sweep and compare, returning one result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.errors import LeadflowError
from leadflow.services.backtest.compare import Comparison, stage_changes
from leadflow.services.backtest.metrics import (
    GroupMetrics,
    Totals,
    Window,
    band_metrics,
    stage_metrics,
)
from leadflow.services.backtest.outcomes import OutcomeSpec
from leadflow.services.backtest.replay import LeadTrack, replay_all
from leadflow.services.backtest.sweep import Sweep, run_sweep


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest: a playbook, an outcome, an instant and the optional extras."""

    playbook: Playbook
    outcome: OutcomeSpec
    as_of: datetime | None = None
    sweep: dict[str, tuple[float, ...]] | None = None
    capacity: float | None = None
    compare: Playbook | None = None


@dataclass(frozen=True)
class BacktestResult:
    """Everything a report shows."""

    playbook: Playbook
    outcome: OutcomeSpec
    totals: Totals
    per_stage: tuple[GroupMetrics, ...]
    per_band: tuple[GroupMetrics, ...]
    sweep: Sweep | None
    comparison: Comparison | None
    tracks: tuple[LeadTrack, ...]


def measure(
    tracks: list[LeadTrack], playbook: Playbook, totals: Totals
) -> tuple[tuple[GroupMetrics, ...], tuple[GroupMetrics, ...]]:
    """Per-stage and per-band figures of ``playbook``'s own thresholds and bands."""
    gate = playbook.mql
    stages = stage_metrics(tracks, totals, gate.fit_at_least, gate.intent_at_least)
    bands = band_metrics(tracks, totals, [b.name for b in playbook.bands])
    return tuple(stages), tuple(bands)


def run_backtest(
    request: BacktestRequest, leads: Iterable[LeadProfile], events: Iterable[Event]
) -> BacktestResult:
    """Replay every lead under the request's playbook (and the compared one) and measure.

    ``as_of`` defaults to the latest event time; it must be timezone-aware.
    """
    lead_list, event_list = list(leads), list(events)
    times = [e.occurred_at for e in event_list]
    as_of = request.as_of or max(times, default=None)
    if as_of is None:
        raise LeadflowError("backtest needs events or an --as-of instant")
    if as_of.tzinfo is None:
        raise LeadflowError("as_of must be timezone-aware")
    start = min((t for t in times if t <= as_of), default=as_of)
    tracks = replay_all(
        lead_list, event_list, request.playbook, outcome=request.outcome, as_of=as_of
    )
    totals = Totals(
        n_leads=len(tracks),
        n_outcomes=sum(1 for t in tracks if t.outcome is not None),
        timed=request.outcome.timed,
        window=Window(start, as_of),
    )
    per_stage, per_band = measure(tracks, request.playbook, totals)
    sweep = None
    if request.sweep is not None or request.capacity is not None:
        # A capacity alone checks the playbook's own thresholds (a grid of one).
        ranges = request.sweep or {}
        sweep = run_sweep(tracks, totals, request.playbook, ranges, request.capacity)
    comparison = None
    if request.compare is not None:
        other = request.compare
        shared = {t.lead_id: t.outcome for t in tracks}
        other_tracks = replay_all(
            lead_list, event_list, other, outcome=request.outcome, as_of=as_of, outcomes=shared
        )
        other_stages, _ = measure(other_tracks, other, totals)
        changes, unchanged = stage_changes(lead_list, event_list, request.playbook, other, as_of)
        comparison = Comparison(
            playbook=f"{request.playbook.id} {request.playbook.version}",
            other=f"{other.id} {other.version}",
            as_of=as_of,
            changes=changes,
            unchanged=unchanged,
            stages=tuple(zip(per_stage, other_stages, strict=True)),
        )
    return BacktestResult(
        playbook=request.playbook,
        outcome=request.outcome,
        totals=totals,
        per_stage=per_stage,
        per_band=per_band,
        sweep=sweep,
        comparison=comparison,
        tracks=tuple(tracks),
    )
