"""The decision queue in memory (the ``DecisionQueue`` port)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from leadflow.services.store.ports import Pending


@dataclass
class FakeDecisionQueue:
    """Queued items in a list, numbered as ``SqlDecisionQueue`` numbers them."""

    items: list[Pending] = field(default_factory=list)
    last_seq: int = 0

    def enqueue(self, items: Sequence[Pending]) -> None:
        for item in items:
            self.last_seq += 1
            self.items.append(replace(item, seq=self.last_seq))

    def claim(self, limit: int) -> list[Pending]:
        leads: list[str] = []
        for item in self.items:
            if item.lead_id not in leads:
                leads.append(item.lead_id)
        taken = set(leads[:limit])
        return [item for item in self.items if item.lead_id in taken]

    def done(self, items: Sequence[Pending]) -> None:
        seqs = {item.seq for item in items}
        self.items = [item for item in self.items if item.seq not in seqs]

    def is_pending(self, lead_id: str) -> bool:
        return any(item.lead_id == lead_id for item in self.items)
