"""``--compare P2``: which leads change stage between two playbooks, at one instant.

Each lead is decided at ``as_of`` under both playbooks with all of its events (sales facts
included: this is the stage a rep would see). The figures of both playbooks are replayed
against the same outcomes (found under the first playbook), side by side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.services.backtest.metrics import GroupMetrics
from leadflow.services.qualification import group_by_lead


@dataclass(frozen=True)
class StageChange:
    """Leads whose stage is ``before`` under the first playbook and ``after`` under the other."""

    before: str
    after: str
    lead_ids: tuple[str, ...]

    def to_record(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "from": self.before,
            "to": self.after,
            "count": len(self.lead_ids),
            "lead_ids": list(self.lead_ids),
        }


@dataclass(frozen=True)
class Comparison:
    """Stage changes and both playbooks' figures."""

    playbook: str
    other: str
    as_of: datetime
    changes: tuple[StageChange, ...]
    unchanged: int
    stages: tuple[tuple[GroupMetrics, GroupMetrics], ...] = ()

    def to_record(self) -> dict[str, object]:
        """JSON-ready, with the differences (other minus first) per stage."""
        rows = []
        for mine, theirs in self.stages:
            a, b = mine.to_record(), theirs.to_record()
            diff = {}
            for key in ("entered", "volume_per_week", "precision", "recall", "lift"):
                x, y = a[key], b[key]
                ok = isinstance(x, int | float) and isinstance(y, int | float)
                diff[key] = round(y - x, 4) if ok else None  # type: ignore[operator]
            rows.append({"name": mine.name, "playbook": a, "other": b, "difference": diff})
        return {
            "playbook": self.playbook,
            "other": self.other,
            "as_of": self.as_of.isoformat(),
            "changed": sum(len(c.lead_ids) for c in self.changes),
            "unchanged": self.unchanged,
            "changes": [c.to_record() for c in self.changes],
            "per_stage": rows,
        }


def stage_changes(
    leads: Sequence[LeadProfile],
    events: Sequence[Event],
    playbook: Playbook,
    other: Playbook,
    as_of: datetime,
) -> tuple[tuple[StageChange, ...], int]:
    """The changes ("from → to" with lead ids, most frequent first) and the unchanged count."""
    by_lead = group_by_lead(events)
    moved: dict[tuple[str, str], list[str]] = {}
    counts: Counter[tuple[str, str]] = Counter()
    unchanged = 0
    for lead in leads:
        own = by_lead.get(lead.lead_id, [])
        before = qualify(lead, own, playbook, as_of).stage.value
        after = qualify(lead, own, other, as_of).stage.value
        if before == after:
            unchanged += 1
            continue
        moved.setdefault((before, after), []).append(lead.lead_id)
        counts[(before, after)] += 1
    order = sorted(moved, key=lambda k: (-counts[k], k))
    return tuple(StageChange(b, a, tuple(moved[(b, a)])) for b, a in order), unchanged
