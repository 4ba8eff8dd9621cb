"""Merging leads found to be one person, and linking leads kept apart (households).

A merge moves the absorbed lead's rows to the survivor (recorded, so that
:mod:`.unmerge` can move them back), adds what only the absorbed lead knew, and puts back
a value that the absorbed lead's own updates would have replaced with a weaker one
(``domain.identity.weaker``). The audit names fields and points at the event carrying the
values: values stay in events, where erasure finds them (COMPLIANCE.md, minimum necessary).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow.domain.identity import weaker
from leadflow.domain.profile import LeadProfile
from leadflow.services.store.ingest import UPDATABLE, Context, new_id, profile_event
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.matching import Matches
from leadflow.services.store.ports import AuditEntry, StoredLead, UnitOfWork


def fill_of(current: LeadProfile, other: LeadProfile) -> dict[str, Any]:
    """Fields ``other`` knows that ``current`` lacks (what a merged lead brings)."""
    fill: dict[str, Any] = {
        name: getattr(other, name)
        for name in UPDATABLE
        if getattr(current, name) is None and getattr(other, name) is not None
    }
    fill.update(
        {f"custom.{k}": v for k, v in other.custom.items() if current.custom.get(k) is None}
    )
    return fill


def merge_one(
    store: UnitOfWork, ctx: Context, survivor: StoredLead, other: StoredLead, matched_by: str
) -> None:
    """Merge ``other`` into ``survivor``: its rows move; fields only it knew are added; a
    value its own updates would have replaced with a weaker one is put back. The audit names
    the fields added, replaced and kept, and points at the event carrying the values."""
    other_profile = current_profile(other, store.leads.events_of(other.lead_id))
    before = current_profile(survivor, store.leads.events_of(survivor.lead_id))
    fill_id = new_id("upd")
    store.leads.merge(survivor.lead_id, other.lead_id, ctx.now, fill_id)
    after = current_profile(survivor, store.leads.events_of(survivor.lead_id))
    fill = fill_of(after, other_profile)
    restore = {
        name: getattr(before, name)
        for name in UPDATABLE
        if weaker(name, getattr(before, name), getattr(after, name))
    }
    replaced = [
        name
        for name in UPDATABLE
        if getattr(before, name) != getattr(after, name) and name not in restore
    ]
    if fill or restore:
        profile_event(
            store,
            survivor.lead_id,
            {**fill, **restore},
            ctx,
            after,
            other_profile,
            event_id=fill_id,
        )
    store.audit.append(
        AuditEntry(
            at=ctx.now,
            actor=ctx.actor,
            action="lead.merged",
            entity="lead",
            entity_id=survivor.lead_id,
            before={"lead_id": other.lead_id},
            after={
                "lead_id": survivor.lead_id,
                "added": sorted(fill),
                "replaced": replaced,
                "kept": sorted(restore),
                "event_id": fill_id if fill or restore else None,
            },
            reason=f"same {matched_by}",
        )
    )


def audit_alias(store: UnitOfWork, ctx: Context, alias: str, survivor: str) -> None:
    store.audit.append(
        AuditEntry(
            at=ctx.now,
            actor=ctx.actor,
            action="lead.merged",
            entity="lead",
            entity_id=survivor,
            before={"lead_id": alias},
            after={"lead_id": survivor},
            reason="a new lead id for a known email, phone or external id",
        )
    )


def link(store: UnitOfWork, ctx: Context, lead_id: str, related: Mapping[str, str]) -> None:
    """Link ``lead_id`` to the leads it was kept apart from, audited (ids only)."""
    for other, relation in sorted(related.items()):
        store.leads.add_link(lead_id, other, relation, ctx.now)
        store.audit.append(
            AuditEntry(
                at=ctx.now,
                actor=ctx.actor,
                action="lead.linked",
                entity="lead",
                entity_id=lead_id,
                after={"lead_id": other, "relation": relation},
                reason="same phone, another name or email",
            )
        )


def merge_matches(store: UnitOfWork, ctx: Context, found: Matches) -> tuple[StoredLead, list[str]]:
    """The oldest matched lead, locked, with the others merged into it."""
    survivor, *others = found.candidates()
    store.leads.lock_lead(survivor.lead_id)
    for other in others:
        merge_one(store, ctx, survivor, other, found.matched_by[other.lead_id])
    return survivor, [o.lead_id for o in others]
