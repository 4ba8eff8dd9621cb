"""Ingest: leads matched and merged by identity, events appended, every lead re-qualified.

Everything one call does happens in the caller's unit of work, so a lead, its events, its
new decision, its stage history and the audit records are committed together or not at all.
"""

from __future__ import annotations

__all__ = [
    "Context",
    "EventsResult",
    "LeadResult",
    "decide_or_queue",
    "event_hash",
    "identity_keys",
    "new_id",
    "record_events",
    "upsert_lead",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from leadflow.domain.events import CONSENT_TYPES, Event
from leadflow.domain.identity import weaker
from leadflow.domain.playbook_choice import Chosen
from leadflow.domain.profile import CONSENT_FIELDS, LeadProfile
from leadflow.errors import EventConflictError, LeadNotFoundError
from leadflow.services.confirmation import confirm_captures
from leadflow.services.store.consent import consent_from_event, consents_from_profile
from leadflow.services.store.ingest import UPDATABLE, Context, event_hash, new_id, profile_event
from leadflow.services.store.lifecycle import Requalified, current_profile, requalify_lead
from leadflow.services.store.matching import find_matches
from leadflow.services.store.merging import audit_alias, link, merge_matches
from leadflow.services.store.ports import (
    AuditEntry,
    IdentityKey,
    Pending,
    StoredEvent,
    StoredLead,
    UnitOfWork,
)
from leadflow.services.store.reasons import events_with_codes


@dataclass(frozen=True)
class LeadResult:
    """What happened to a posted lead."""

    lead_id: str
    created: bool
    merged: list[str]
    changed_fields: list[str]
    # the new decision (``None``: queued for a decider, ``Context.defer``)
    outcome: Requalified | None
    # posted values not taken because they would have replaced a fuller or valid one
    kept_fields: list[str] = field(default_factory=list)
    # leads kept apart but linked (lead id → relation, e.g. ``household``)
    related: dict[str, str] = field(default_factory=dict)

    @property
    def decided(self) -> Requalified:
        """The new decision of a lead stored without ``Context.defer``."""
        if self.outcome is None:
            raise RuntimeError(f"lead {self.lead_id} was queued for a decider, not decided")
        return self.outcome


@dataclass(frozen=True)
class EventsResult:
    """Events stored and skipped, and each touched lead's new decision (or, deferred, the
    leads queued for a decider)."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    leads: dict[str, Requalified] = field(default_factory=dict)
    queued: list[str] = field(default_factory=list)


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


def _changes(current: LeadProfile, posted: LeadProfile) -> tuple[dict[str, Any], list[str]]:
    """The posted values that change the lead, and the fields whose posted value was not
    taken: it would have replaced a fuller or valid one (``identity.weaker``)."""
    changes: dict[str, Any] = {}
    kept: list[str] = []
    for name in UPDATABLE:
        new, old = getattr(posted, name), getattr(current, name)
        if new is None or new == old:
            continue
        if name == "email" and isinstance(old, str) and new.casefold() == old.casefold():
            continue  # the same mailbox: identities are matched case-insensitively
        if weaker(name, old, new):
            kept.append(name)
            continue
        changes[name] = new
    for key, value in posted.custom.items():
        if current.custom.get(key) != value:
            changes[f"custom.{key}"] = value
    return changes, kept


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
    outcome = decide_or_queue(store, [(lead, None)], ctx).get(lead.lead_id)
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

    Matching follows ``domain.identity.MATCH_RULES`` (:mod:`.matching`): a phone shared
    with someone of another name or email makes a lead of its own, linked as ``household``.
    Leads matched through different identities are merged into the oldest one; a posted
    lead id that is new but matches an existing lead becomes an alias of it (unless
    ``id_given`` is false: an id made up by the caller needs no alias). Changed fields
    become a ``profile_updated`` event, so the timeline shows when each change arrived; a
    value that would replace a fuller or valid one is kept (``kept_fields``).
    """
    chosen = ctx.choice.choose(posted)
    playbook = chosen.playbook
    ctx.playbooks(playbook)  # an unknown playbook fails before anything is stored
    keys = identity_keys(posted, external_id, ctx.source)
    found = find_matches(store, posted, keys)
    evidence = dict(consent_evidence or {})
    if not found.same:
        created = _create_lead(
            store,
            replace(posted, playbook=playbook),
            found.own_keys(keys),
            evidence,
            ctx,
            chosen=chosen,
        )
        link(store, ctx, created.lead_id, found.related)
        return replace(created, related=dict(found.related))
    survivor, merged = merge_matches(store, ctx, found)
    if id_given and store.leads.get_lead(posted.lead_id) is None:
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
        audit_alias(store, ctx, posted.lead_id, survivor.lead_id)
        merged.append(posted.lead_id)
    here = current_profile(survivor, store.leads.events_of(survivor.lead_id))
    changes, kept = _changes(here, posted)
    event_id = _record_update(store, ctx, survivor.lead_id, changes, kept, here=here, posted=posted)
    store.leads.add_identities(survivor.lead_id, found.own_keys(keys), ctx.now)
    link(store, ctx, survivor.lead_id, found.related)
    _update_consents(store, ctx, survivor, posted, here=here, evidence=evidence)
    outcome = decide_or_queue(store, [(survivor, event_id)], ctx).get(survivor.lead_id)
    return LeadResult(
        survivor.lead_id, False, merged, sorted(changes), outcome, kept, dict(found.related)
    )


def _record_update(
    store: UnitOfWork,
    ctx: Context,
    lead_id: str,
    changes: Mapping[str, Any],
    kept: list[str],
    *,
    here: LeadProfile,
    posted: LeadProfile,
) -> str | None:
    """The changes as a ``profile_updated`` event, audited by field name with a pointer to
    the event that carries the values (and the fields whose posted value was not taken)."""
    event_id = None
    if changes:
        event_id = profile_event(store, lead_id, changes, ctx, here, posted)
    if changes or kept:
        store.audit.append(
            AuditEntry(
                at=ctx.now,
                actor=ctx.actor,
                action="lead.updated",
                entity="lead",
                entity_id=lead_id,
                after={"fields": sorted(changes), "kept": kept, "event_id": event_id},
                reason="kept: a posted value would replace a fuller or valid one" if kept else None,
            )
        )
    return event_id


def _update_consents(
    store: UnitOfWork,
    ctx: Context,
    survivor: StoredLead,
    posted: LeadProfile,
    *,
    here: LeadProfile,
    evidence: dict[str, Any],
) -> None:
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


def decide_or_queue(
    store: UnitOfWork, touched: Sequence[tuple[StoredLead, str | None]], ctx: Context
) -> dict[str, Requalified]:
    """Decide each touched lead (with the last event that touched it) in this unit of work,
    or, with ``ctx.defer``, queue them all for a decider in one statement (nothing decided:
    an empty result)."""
    if ctx.defer:
        max_age = None if ctx.imported is None else int(ctx.imported.max_age.total_seconds())
        store.pending.enqueue(
            [
                Pending(lead.lead_id, event_id, ctx.now, ctx.actor, max_age)
                for lead, event_id in touched
            ]
        )
        return {}
    return {
        lead.lead_id: requalify_lead(
            store,
            lead,
            ctx.playbooks,
            ctx.now,
            ctx.actor,
            event_id=event_id,
            imported=ctx.imported,
        )
        for lead, event_id in touched
    }


def _leads_of(
    store: UnitOfWork, events: Sequence[Event], *, lock: bool = True
) -> dict[str, StoredLead]:
    """The (surviving) lead of each event's lead id, locked in id order unless ``lock`` is
    false; an unknown lead raises :class:`LeadNotFoundError`."""
    leads: dict[str, StoredLead] = {}
    for event in events:
        if event.lead_id not in leads:
            lead = store.leads.get_lead(event.lead_id)
            if lead is None:
                raise LeadNotFoundError(event.lead_id)
            leads[event.lead_id] = lead
    if lock:
        for lead_id in sorted({lead.lead_id for lead in leads.values()}):
            store.leads.lock_lead(lead_id)
    return leads


def _seen(event_id: str, digest: str, known: dict[str, str]) -> bool:
    """Whether the event is already stored (or earlier in this batch: ``known`` holds both)
    with this content; another content under its id raises :class:`EventConflictError`.
    A new event is added to ``known``."""
    stored = known.get(event_id)
    if stored is None:
        known[event_id] = digest
        return False
    if stored != digest:
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
    is half-stored. With ``ctx.defer`` the events are appended and their leads queued for a
    decider (``queued``); the leads are not locked then, unless a consent event must be
    recorded against the lead's current contact points.
    """
    lock = not ctx.defer or any(event.type in CONSENT_TYPES for event in events)
    leads = _leads_of(store, events, lock=lock)
    events = events_with_codes(events, leads, ctx.playbooks, ctx.source)
    result = EventsResult()
    to_store: list[StoredEvent] = []
    touched: dict[str, str] = {}  # surviving lead id -> last event id
    known = store.leads.event_hashes([event.event_id for event in events])
    for event in events:
        lead = leads[event.lead_id]
        stored_as = replace(event, lead_id=lead.lead_id)
        digest = event_hash(stored_as)
        if _seen(event.event_id, digest, known):
            result.duplicates.append(event.event_id)
            continue
        redacted = ctx.scan_event(stored_as, lead.profile)
        to_store.append(StoredEvent(stored_as, digest, ctx.source, ctx.actor, ctx.now, redacted))
        result.stored.append(event.event_id)
        touched[lead.lead_id] = event.event_id
    store.leads.add_events(to_store)
    by_id = {lead.lead_id: lead for lead in leads.values()}
    _record_consents(store, [s.event for s in to_store], by_id, ctx)
    pairs = [(by_id[lead_id], last_event) for lead_id, last_event in touched.items()]
    result.leads.update(decide_or_queue(store, pairs, ctx))
    if ctx.defer:
        result.queued.extend(touched)
    if ctx.imported is None:  # history brought in by an import is never confirmed
        touched_leads = {lead_id: by_id[lead_id] for lead_id in touched}
        stored = [s.event for s in to_store]
        confirm_captures(store, touched_leads, stored, ctx.playbooks, now=ctx.now, actor=ctx.actor)
    return result
