"""Ingest: leads matched and merged by identity, events appended, every lead re-qualified.

Everything one call does happens in the caller's unit of work, so a lead, its events, its
new decision, its stage history and the audit records are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from leadflow.domain.events import CONSENT_TYPES, Event, EventType
from leadflow.domain.playbook_choice import Chosen, PlaybookChoice
from leadflow.domain.profile import CONSENT_FIELDS, TEXT_FIELDS, LeadProfile
from leadflow.errors import EventConflictError, LeadNotFoundError
from leadflow.services.confirmation import confirm_captures
from leadflow.services.redaction import Identity, TextScanner, redact_profile, redact_properties
from leadflow.services.routing.assign import ImportedClocks
from leadflow.services.store.consent import consent_from_event, consents_from_profile
from leadflow.services.store.lifecycle import Requalified, current_profile, requalify_lead
from leadflow.services.store.ports import (
    AuditEntry,
    IdentityKey,
    PlaybookLookup,
    StoredEvent,
    StoredLead,
    UnitOfWork,
)
from leadflow.services.store.reasons import events_with_codes

_UPDATABLE = tuple(f for f in (*TEXT_FIELDS, *CONSENT_FIELDS) if f != "playbook")


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


@dataclass(frozen=True)
class LeadResult:
    """What happened to a posted lead."""

    lead_id: str
    created: bool
    merged: list[str]
    changed_fields: list[str]
    outcome: Requalified


@dataclass(frozen=True)
class EventsResult:
    """Events stored and skipped, and each touched lead's new decision."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    leads: dict[str, Requalified] = field(default_factory=dict)


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


def identity_keys(profile: LeadProfile, external_id: str | None, source: str) -> list[IdentityKey]:
    """The identities a profile carries (normalised email, E.164 phone, external id)."""
    keys = []
    if profile.email:
        keys.append(IdentityKey("email", profile.email.casefold()))
    if profile.phone:
        keys.append(IdentityKey("phone", profile.phone))
    if external_id:
        keys.append(IdentityKey("external", external_id, source))
    return keys


def _changes(current: LeadProfile, posted: LeadProfile) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in _UPDATABLE:
        new, old = getattr(posted, name), getattr(current, name)
        if new is None or new == old:
            continue
        if name == "email" and isinstance(old, str) and new.casefold() == old.casefold():
            continue  # the same mailbox: identities are matched case-insensitively
        changes[name] = new
    for key, value in posted.custom.items():
        if current.custom.get(key) != value:
            changes[f"custom.{key}"] = value
    return changes


def _fill(current: LeadProfile, other: LeadProfile) -> dict[str, Any]:
    """Fields ``other`` knows that ``current`` lacks (what a merged lead brings)."""
    fill: dict[str, Any] = {
        name: getattr(other, name)
        for name in _UPDATABLE
        if getattr(current, name) is None and getattr(other, name) is not None
    }
    fill.update(
        {f"custom.{k}": v for k, v in other.custom.items() if current.custom.get(k) is None}
    )
    return fill


def _audit_merge(store: UnitOfWork, ctx: Context, absorbed: str, survivor: str) -> None:
    store.audit.append(
        AuditEntry(
            at=ctx.now,
            actor=ctx.actor,
            action="lead.merged",
            entity="lead",
            entity_id=survivor,
            before={"lead_id": absorbed},
            after={"lead_id": survivor},
            reason="same email, phone or external id",
        )
    )


def _profile_event(
    store: UnitOfWork,
    lead_id: str,
    changes: Mapping[str, Any],
    ctx: Context,
    *known: LeadProfile,
) -> str:
    event = Event(new_id("upd"), lead_id, EventType.PROFILE_UPDATED, ctx.now, dict(changes))
    redacted = ctx.scan_event(event, *known)
    store.leads.add_events(
        [StoredEvent(event, event_hash(event), ctx.source, ctx.actor, ctx.now, redacted)]
    )
    return event.event_id


def _create_lead(
    store: UnitOfWork,
    profile: LeadProfile,
    keys: list[IdentityKey],
    evidence: dict[str, Any],
    ctx: Context,
    *,
    chosen: Chosen,
) -> LeadResult:
    """A lead no identity matched: stored with its free text scanned, its identities,
    consents and first decision."""
    playbook = chosen.playbook
    lead = StoredLead(
        profile.lead_id,
        playbook,
        profile,
        profile.created_at or ctx.now,
        ctx.now,
        ctx.scan_profile(profile),
        chosen_by=chosen.rule,
    )
    store.leads.add_lead(lead)
    store.leads.add_identities(lead.lead_id, keys, ctx.now)
    consents_from_profile(
        store, lead.lead_id, lead.profile, evidence, source=ctx.source, at=ctx.now
    )
    store.audit.append(
        AuditEntry(
            at=ctx.now,
            actor=ctx.actor,
            action="lead.created",
            entity="lead",
            entity_id=lead.lead_id,
            after={"playbook": playbook, "source": ctx.source, "chosen_by": chosen.rule},
        )
    )
    outcome = requalify_lead(store, lead, ctx.playbooks, ctx.now, ctx.actor, imported=ctx.imported)
    return LeadResult(lead.lead_id, True, [], [], outcome)


def upsert_lead(
    store: UnitOfWork,
    posted: LeadProfile,
    ctx: Context,
    *,
    external_id: str | None = None,
    consent_evidence: Mapping[str, Any] | None = None,
    id_given: bool = True,
) -> LeadResult:
    """Create the lead, or match it by id, email, phone or external id and update it.

    Leads matched through different identities are merged into the oldest one; a posted
    lead id that is new but matches an existing lead becomes an alias of it (unless
    ``id_given`` is false: an id made up by the caller needs no alias). Changed fields
    become a ``profile_updated`` event, so the timeline shows when each change arrived.
    """
    chosen = ctx.choice.choose(posted)
    playbook = chosen.playbook
    ctx.playbooks(playbook)  # an unknown playbook fails before anything is stored
    keys = identity_keys(posted, external_id, ctx.source)
    candidates: list[StoredLead] = []
    by_id = store.leads.get_lead(posted.lead_id)
    if by_id is not None:
        candidates.append(by_id)
    for lead_id in store.leads.leads_by_identity(keys):
        if all(c.lead_id != lead_id for c in candidates):
            found = store.leads.get_lead(lead_id)
            if found is not None:
                candidates.append(found)
    evidence = dict(consent_evidence or {})
    if not candidates:
        return _create_lead(
            store, replace(posted, playbook=playbook), keys, evidence, ctx, chosen=chosen
        )

    candidates.sort(key=lambda c: (c.created_at, c.lead_id))
    survivor = candidates[0]
    store.leads.lock_lead(survivor.lead_id)
    merged: list[str] = []
    for other in candidates[1:]:
        other_profile = current_profile(other, store.leads.events_of(other.lead_id))
        store.leads.merge(survivor.lead_id, other.lead_id)
        here = current_profile(survivor, store.leads.events_of(survivor.lead_id))
        fill = _fill(here, other_profile)
        if fill:
            _profile_event(store, survivor.lead_id, fill, ctx, here, other_profile)
        _audit_merge(store, ctx, other.lead_id, survivor.lead_id)
        merged.append(other.lead_id)
    if id_given and by_id is None and store.leads.get_lead(posted.lead_id) is None:
        alias = StoredLead(
            posted.lead_id,
            playbook,
            posted,
            posted.created_at or ctx.now,
            ctx.now,
            ctx.scan_profile(posted),
            chosen_by=chosen.rule,
        )
        store.leads.add_lead(alias, merged_into=survivor.lead_id)
        _audit_merge(store, ctx, posted.lead_id, survivor.lead_id)
        merged.append(posted.lead_id)
    here = current_profile(survivor, store.leads.events_of(survivor.lead_id))
    changes = _changes(here, posted)
    event_id = None
    if changes:
        event_id = _profile_event(store, survivor.lead_id, changes, ctx, here, posted)
        store.audit.append(
            AuditEntry(
                at=ctx.now,
                actor=ctx.actor,
                action="lead.updated",
                entity="lead",
                entity_id=survivor.lead_id,
                after={"fields": sorted(changes)},
            )
        )
    store.leads.add_identities(survivor.lead_id, keys, ctx.now)
    # Consent follows the contact point: only flags sent now count, for the points known now.
    # A flag the lead's record already had is a resend, not a new capture: recording it
    # again would undo an unsubscribe that came in between. A new capture says so with its
    # evidence (the ``consent`` object), or changes the flag.
    flags = {
        name: flag
        for name in CONSENT_FIELDS
        if (flag := getattr(posted, name)) is not None and (evidence or flag != getattr(here, name))
    }
    blank = dict.fromkeys(CONSENT_FIELDS)
    updated = replace(
        current_profile(survivor, store.leads.events_of(survivor.lead_id)), **{**blank, **flags}
    )
    consents_from_profile(store, survivor.lead_id, updated, evidence, source=ctx.source, at=ctx.now)
    outcome = requalify_lead(
        store,
        survivor,
        ctx.playbooks,
        ctx.now,
        ctx.actor,
        event_id=event_id,
        imported=ctx.imported,
    )
    return LeadResult(survivor.lead_id, False, merged, sorted(changes), outcome)


def _leads_of(store: UnitOfWork, events: Sequence[Event]) -> dict[str, StoredLead]:
    """The (surviving) lead of each event's lead id, locked in id order; an unknown lead
    raises :class:`LeadNotFoundError`."""
    leads: dict[str, StoredLead] = {}
    for event in events:
        if event.lead_id not in leads:
            lead = store.leads.get_lead(event.lead_id)
            if lead is None:
                raise LeadNotFoundError(event.lead_id)
            leads[event.lead_id] = lead
    for lead_id in sorted({lead.lead_id for lead in leads.values()}):
        store.leads.lock_lead(lead_id)
    return leads


def _seen(store: UnitOfWork, event_id: str, digest: str, pending: list[StoredEvent]) -> bool:
    """Whether the event is already stored (or earlier in this batch) with this content;
    another content under its id raises :class:`EventConflictError`."""
    known = store.leads.event_hash(event_id)
    earlier = [s.content_hash for s in pending if s.event.event_id == event_id]
    if known is None and not earlier:
        return False
    if known != digest and digest not in earlier:
        raise EventConflictError(event_id)
    return True


def _record_consents(
    store: UnitOfWork, stored: list[Event], by_id: dict[str, StoredLead], ctx: Context
) -> None:
    """Consent records (audited) for the consent events just stored."""
    for event in stored:
        if event.type not in CONSENT_TYPES:
            continue
        survivor = by_id[event.lead_id]
        profile = current_profile(survivor, store.leads.events_of(survivor.lead_id))
        record = consent_from_event(store, event, profile, ctx.source, ctx.now)
        if record is not None:
            store.audit.append(
                AuditEntry(
                    at=ctx.now,
                    actor=ctx.actor,
                    action=f"consent.{record.status}",
                    entity="lead",
                    entity_id=survivor.lead_id,
                    after={"channel": record.channel},
                    reason=event.type.value,
                )
            )


def record_events(store: UnitOfWork, events: Sequence[Event], ctx: Context) -> EventsResult:
    """Append ``events`` (already validated) and re-qualify each lead they touch once.

    An unknown lead raises :class:`LeadNotFoundError`; a rejection, disqualification or
    loss whose reason is not a code of its lead's playbook raises
    :class:`InvalidRecordError` (a declared one is stored as its code); an event id stored
    with different content raises :class:`EventConflictError`; an identical copy is
    skipped. Raised errors leave the unit of work to be rolled back by the caller: nothing
    is half-stored.
    """
    leads = _leads_of(store, events)
    events = events_with_codes(events, leads, ctx.playbooks, ctx.source)
    result = EventsResult()
    to_store: list[StoredEvent] = []
    touched: dict[str, str] = {}  # surviving lead id -> last event id
    for event in events:
        lead = leads[event.lead_id]
        stored_as = replace(event, lead_id=lead.lead_id)
        digest = event_hash(stored_as)
        if _seen(store, event.event_id, digest, to_store):
            result.duplicates.append(event.event_id)
            continue
        redacted = ctx.scan_event(stored_as, lead.profile)
        to_store.append(StoredEvent(stored_as, digest, ctx.source, ctx.actor, ctx.now, redacted))
        result.stored.append(event.event_id)
        touched[lead.lead_id] = event.event_id
    store.leads.add_events(to_store)
    by_id = {lead.lead_id: lead for lead in leads.values()}
    _record_consents(store, [s.event for s in to_store], by_id, ctx)
    for lead_id, last_event in touched.items():
        result.leads[lead_id] = requalify_lead(
            store,
            by_id[lead_id],
            ctx.playbooks,
            ctx.now,
            ctx.actor,
            event_id=last_event,
            imported=ctx.imported,
        )
    if ctx.imported is None:  # history brought in by an import is never confirmed
        touched_leads = {lead_id: by_id[lead_id] for lead_id in touched}
        stored = [s.event for s in to_store]
        confirm_captures(store, touched_leads, stored, ctx.playbooks, now=ctx.now, actor=ctx.actor)
    return result
