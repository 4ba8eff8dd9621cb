"""When can a lead's decision change with time alone?

With no new event, time changes a decision in two ways: intent decays (points halve every
half-life, a signal's window closes), so a lead can fall below an MQL threshold or into a
lower band; and a date comes (the recheck of an "MQL – no timeline"). :func:`next_change`
answers the first instant, after ``as_of``, at which the lead's stage or band would differ,
or its recheck falls due — so the worker re-decides only those leads, when it matters, and
never re-reads the others.

Decay only ever lowers intent, so the stage and band move one way as time passes; the first
change is found by bisection to :data:`RESOLUTION` within :data:`HORIZON`. A lead whose
decision holds over the whole horizon is looked at again at its end (a rule with a longer
window, or a decay slower than the horizon, is still caught then).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from leadflow.domain.decision import Decision
from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify, timeline_at
from leadflow.domain.stages import TERMINAL_STAGES

HORIZON = timedelta(days=90)
RESOLUTION = timedelta(hours=1)


def _key(decision: Decision) -> tuple[str, str]:
    return decision.stage.value, decision.band


def next_change(
    profile: LeadProfile,
    events: Sequence[Event],
    playbook: Playbook,
    decision: Decision,
    as_of: datetime,
) -> datetime | None:
    """The first instant after ``as_of`` when time alone may change ``decision`` (made at
    ``as_of`` from ``profile`` and ``events``); ``None`` for a final stage."""
    if decision.stage in TERMINAL_STAGES:
        return None
    timeline = timeline_at(events, as_of)
    candidates = [as_of + HORIZON]
    if decision.recheck_at is not None and decision.recheck_at > as_of:
        candidates.append(decision.recheck_at)
    now = _key(decision)
    end = as_of + HORIZON
    if _key(qualify(profile, timeline, playbook, end)) != now:
        low, high = as_of, end  # the decision holds at low, differs at high
        while high - low > RESOLUTION:
            middle = low + (high - low) / 2
            if _key(qualify(profile, timeline, playbook, middle)) == now:
                low = middle
            else:
                high = middle
        candidates.append(high)
    return min(candidates)
