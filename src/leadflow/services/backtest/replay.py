"""Replay each lead's marketing history once, without leaking the outcome.

For every lead, the engine (:func:`leadflow.domain.qualify.qualify`) is run at each distinct
instant of the lead's events, given only:

- events strictly before the lead's outcome instant (all events up to ``as_of`` when it
  never reached the outcome), and
- no sales or intake facts (``SALES_TYPES``): the marketing stages must be predicted from
  engagement, consent and profile alone, so a sales outcome cannot make its own prediction.

Scores do not depend on the MQL thresholds, so the replay runs under a copy of the playbook
whose thresholds can never be met. Each instant then records the fit and intent scores, the
band, whether a fast track qualified the lead, and whether it is *eligible* (no hard stop, no
unmet must-have). :meth:`Point.stage` derives the stage under any thresholds from that:
``mql`` when fast-tracked, or eligible with both scores at or above the thresholds;
otherwise the stage the engine gave (``new``, ``nurture`` or ``disqualified``). One replay
thus serves the playbook's own thresholds and every combination of a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from leadflow.domain.events import SALES_TYPES, Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage
from leadflow.services.backtest.outcomes import OutcomeHit, OutcomeSpec, find_outcome
from leadflow.services.qualification import group_by_lead

MARKETING_STAGES: tuple[Stage, ...] = (Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.DISQUALIFIED)


@dataclass(frozen=True, slots=True)
class Point:
    """A lead's marketing state at one instant, independent of the MQL thresholds."""

    at: datetime
    fit: float
    intent: float
    band: str
    base: Stage  # the engine's stage with unreachable thresholds
    eligible: bool  # no hard stop and every must-have met

    def stage(self, fit_at_least: float, intent_at_least: float) -> Stage:
        """The stage under MQL thresholds ``fit_at_least`` and ``intent_at_least``."""
        if self.base is Stage.MQL:  # fast track
            return Stage.MQL
        if self.eligible and self.fit >= fit_at_least and self.intent >= intent_at_least:
            return Stage.MQL
        return self.base


@dataclass(frozen=True)
class LeadTrack:
    """One lead's replay: its points in time order and its outcome, if any."""

    lead_id: str
    points: tuple[Point, ...]
    outcome: OutcomeHit | None


def unreachable(playbook: Playbook) -> Playbook:
    """``playbook`` with MQL thresholds no score meets (fast tracks kept)."""
    gate = replace(playbook.mql, fit_at_least=math.inf, intent_at_least=math.inf)
    return replace(playbook, mql=gate, version=f"{playbook.version}+replay")


def replay_lead(
    profile: LeadProfile,
    events: Sequence[Event],
    playbook: Playbook,
    outcome: OutcomeHit | None,
    as_of: datetime,
) -> tuple[Point, ...]:
    """The lead's points under ``playbook`` (made with :func:`unreachable`), one per instant."""
    cutoff = outcome.at if outcome is not None else None
    kept = [
        e
        for e in events
        if e.type not in SALES_TYPES
        and e.occurred_at <= as_of
        and (cutoff is None or e.occurred_at < cutoff)
    ]
    must_haves = {c.id for c in playbook.fit if c.must_have}
    points = []
    for instant in sorted({e.occurred_at for e in kept}):
        decision = qualify(profile, kept, playbook, instant)
        unmet = any(b.rule in must_haves for b in decision.blockers)
        points.append(
            Point(
                at=instant,
                fit=decision.fit_score,
                intent=decision.intent_score,
                band=decision.band,
                base=decision.stage,
                eligible=decision.stage is not Stage.DISQUALIFIED and not unmet,
            )
        )
    return tuple(points)


def replay_all(
    leads: Iterable[LeadProfile],
    events: Iterable[Event],
    playbook: Playbook,
    *,
    outcome: OutcomeSpec,
    as_of: datetime,
    outcomes: dict[str, OutcomeHit | None] | None = None,
) -> list[LeadTrack]:
    """Every lead's track. The outcome is found under ``playbook`` unless ``outcomes`` (by
    lead id, e.g. from another playbook's run) is given, so two playbooks share one truth."""
    by_lead = group_by_lead(events)
    blind = unreachable(playbook)
    tracks = []
    for lead in leads:
        own = by_lead.get(lead.lead_id, [])
        if outcomes is not None:
            hit = outcomes.get(lead.lead_id)
        else:
            hit = find_outcome(outcome, lead, own, playbook, as_of)
        tracks.append(LeadTrack(lead.lead_id, replay_lead(lead, own, blind, hit, as_of), hit))
    return tracks
