"""Which stored leads a posted record is, and which it is only related to.

The rules are ``leadflow.domain.identity.MATCH_RULES``: the posted lead id, an email or an
external id names the lead; a phone names a lead of its household only when the records do
not contradict each other (names, email) — compared with the posted record and with every
lead it already matched, so that two people are never joined through a third record. A
phone whose household has no such lead relates the posted record to the phone's owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from leadflow.domain.identity import MATCH_RULES, RULES_BY_KIND, contradictions
from leadflow.domain.profile import LeadProfile
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import IdentityKey, StoredLead, UnitOfWork

_ORDER = {rule.kind: n for n, rule in enumerate(MATCH_RULES)}


@dataclass
class Matches:
    """The leads a posted record is (``same``, with the identity that said so) and the leads
    it is kept apart from but related to (``related``: lead id → relation)."""

    same: dict[str, StoredLead] = field(default_factory=dict)
    matched_by: dict[str, str] = field(default_factory=dict)
    related: dict[str, str] = field(default_factory=dict)
    owners: dict[IdentityKey, str] = field(default_factory=dict)
    profiles: dict[str, LeadProfile] = field(default_factory=dict)

    def own_keys(self, keys: Sequence[IdentityKey]) -> list[IdentityKey]:
        """The keys the surviving lead may hold: those no lead kept apart owns."""
        return [k for k in keys if self.owners.get(k) is None or self.owners[k] in self.same]

    def candidates(self) -> list[StoredLead]:
        """The matched leads, oldest first (the first survives a merge)."""
        return sorted(self.same.values(), key=lambda c: (c.created_at, c.lead_id))


def _profile(store: UnitOfWork, found: Matches, lead: StoredLead) -> LeadProfile:
    if lead.lead_id not in found.profiles:
        events = store.leads.events_of(lead.lead_id)
        found.profiles[lead.lead_id] = current_profile(lead, events)
    return found.profiles[lead.lead_id]


def _agrees(store: UnitOfWork, found: Matches, posted: LeadProfile, lead: StoredLead) -> bool:
    profile = _profile(store, found, lead)
    others = [_profile(store, found, s) for s in found.same.values()]
    return not any(contradictions(profile, other) for other in (posted, *others))


def _household(store: UnitOfWork, owner: StoredLead) -> list[StoredLead]:
    """The phone's owner, then the leads linked to it, in id order."""
    members = [owner]
    for link in store.leads.links_of(owner.lead_id):
        lead = store.leads.get_lead(link.lead_id)
        if lead is not None:
            members.append(lead)
    return members


def _by_key(store: UnitOfWork, found: Matches, posted: LeadProfile, key: IdentityKey) -> None:
    rule = RULES_BY_KIND[key.kind]
    for owner_id in store.leads.leads_by_identity([key]):
        found.owners[key] = owner_id
        owner = store.leads.get_lead(owner_id)
        if owner is None or owner_id in found.same:
            continue
        if not rule.needs_agreement:
            found.same[owner_id] = owner
            found.matched_by[owner_id] = key.kind
            continue
        members = _household(store, owner)
        if any(m.lead_id in found.same for m in members):
            continue  # the posted person is already matched within this household
        pick = next((m for m in members if _agrees(store, found, posted, m)), None)
        if pick is not None:
            found.same[pick.lead_id] = pick
            found.matched_by[pick.lead_id] = key.kind
        elif rule.relation is not None:
            found.related.setdefault(owner_id, rule.relation)


def find_matches(store: UnitOfWork, posted: LeadProfile, keys: Sequence[IdentityKey]) -> Matches:
    """The stored leads ``posted`` is and is related to (see the module)."""
    found = Matches()
    by_id = store.leads.get_lead(posted.lead_id)
    if by_id is not None:
        found.same[by_id.lead_id] = by_id
        found.matched_by[by_id.lead_id] = "lead_id"
    for key in sorted(keys, key=lambda k: _ORDER[k.kind]):
        _by_key(store, found, posted, key)
    for lead_id in found.same:
        found.related.pop(lead_id, None)
    return found
