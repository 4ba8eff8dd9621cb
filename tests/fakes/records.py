"""In-memory audit log and webhook outbox (the ``AuditLog`` and ``Outbox`` ports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.services.store.ports import AuditEntry


@dataclass
class FakeAudit:
    """The ``AuditLog`` port: the entries in order (the chain is tested on the database)."""

    entries: list[AuditEntry] = field(default_factory=list)

    def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def actions(self) -> list[str]:
        return [e.action for e in self.entries]


@dataclass
class FakeOutbox:
    """The webhook ``Outbox`` port: what would be sent, to every endpoint."""

    queued: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def enqueue(self, event_type: str, payload: dict[str, Any], at: datetime) -> int:
        self.queued.append((event_type, payload))
        return 1

    def types(self) -> list[str]:
        return [event_type for event_type, _ in self.queued]
