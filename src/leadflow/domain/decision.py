"""The decision record: a lead's stage at an instant, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.domain.stages import Stage


@dataclass(frozen=True)
class Reason:
    """A rule that fired, with its points and the events that prove it."""

    rule: str
    label: str
    points: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Blocker:
    """Something the next stage still needs."""

    rule: str
    label: str


@dataclass(frozen=True)
class Route:
    """Where the lead goes: queue, owner and first-outreach deadline."""

    queue: str | None = None
    owner: str | None = None
    sla_due_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The output of qualifying one lead at one instant (the contract in PRODUCT.md)."""

    lead_id: str
    stage: Stage
    status: str
    fit_score: float
    intent_score: float
    band: str
    reasons: tuple[Reason, ...]
    blockers: tuple[Blocker, ...]
    disqualification_reason: str | None
    next_action: str
    route: Route
    playbook_id: str
    playbook_version: str
    # an "MQL – no timeline" lead's recheck date (routing starts its clock then; not part
    # of the record, whose blockers and next action already say it)
    recheck_at: datetime | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready decision record, keys exactly as the contract names them."""
        return {
            "lead_id": self.lead_id,
            "stage": self.stage.value,
            "status": self.status,
            "fit_score": self.fit_score,
            "intent_score": self.intent_score,
            "band": self.band,
            "reasons": [
                {"rule": r.rule, "label": r.label, "points": r.points, "evidence": list(r.evidence)}
                for r in self.reasons
            ],
            "blockers": [{"rule": b.rule, "label": b.label} for b in self.blockers],
            "disqualification_reason": self.disqualification_reason,
            "next_action": self.next_action,
            "route": {
                "queue": self.route.queue,
                "owner": self.route.owner,
                "sla_due_at": self.route.sla_due_at.isoformat() if self.route.sla_due_at else None,
            },
            "playbook": {"id": self.playbook_id, "version": self.playbook_version},
        }
