"""What every ingest use case shares: who acts, how ids and content hashes are made, and
the ``profile_updated`` event that records a change of a lead's fields."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import CONSENT_FIELDS, TEXT_FIELDS, LeadProfile
from leadflow.services.redaction import Identity, TextScanner, redact_profile, redact_properties
from leadflow.services.routing.assign import ImportedClocks
from leadflow.services.store.ports import PlaybookLookup, StoredEvent, UnitOfWork

# the fields a posted record or a merge may change
UPDATABLE = tuple(f for f in (*TEXT_FIELDS, *CONSENT_FIELDS) if f != "playbook")


@dataclass(frozen=True)
class Context:
    """Who is acting, from where, at what instant, with which playbooks."""

    actor: str
    source: str
    now: datetime
    playbooks: PlaybookLookup
    # the deployment's rules for a lead that names no playbook (``leadflow.yaml``)
    choice: PlaybookChoice
    # scans free text as it arrives (None: stored unscanned, and scanned when shown)
    scanner: TextScanner | None = None
    # leads brought in with their history: SLA clocks start from it (``leadflow import``)
    imported: ImportedClocks | None = None
    # append only: touched leads are queued for a decider (``uow.pending``) instead of
    # decided in this unit of work
    defer: bool = False

    def scan_profile(self, profile: LeadProfile, *known: LeadProfile) -> dict[str, str] | None:
        """The profile's free text redacted, by field (``None`` without a scanner)."""
        if self.scanner is None:
            return None
        return redact_profile(profile, self.scanner, Identity.of(profile, *known))

    def scan_text(self, text: str, *known: LeadProfile) -> str | None:
        """One free text redacted (``None`` without a scanner)."""
        if self.scanner is None:
            return None
        return self.scanner.scan(text, Identity.of(*known)).text

    def scan_event(self, event: Event, *known: LeadProfile) -> dict[str, str] | None:
        """The event's free-text properties redacted, by name (``None`` without a scanner)."""
        if self.scanner is None:
            return None
        return redact_properties(
            event.type.value, event.properties, self.scanner, Identity.of(*known)
        )


def new_id(prefix: str) -> str:
    """A new random id such as ``lead_6f1c…``."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def event_hash(event: Event) -> str:
    """A hash of what an event says (lead, type, time, properties), not of its id."""
    body = json.dumps(
        {
            "lead_id": event.lead_id,
            "type": event.type.value,
            "occurred_at": event.occurred_at.isoformat(),
            "properties": dict(event.properties),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def profile_event(
    store: UnitOfWork,
    lead_id: str,
    changes: Mapping[str, Any],
    ctx: Context,
    *known: LeadProfile,
    event_id: str | None = None,
) -> str:
    event = Event(
        event_id or new_id("upd"), lead_id, EventType.PROFILE_UPDATED, ctx.now, dict(changes)
    )
    redacted = ctx.scan_event(event, *known)
    store.leads.add_events(
        [StoredEvent(event, event_hash(event), ctx.source, ctx.actor, ctx.now, redacted)]
    )
    return event.event_id
