"""Merges that can be undone and linked leads, in memory (for :class:`FakeLeads`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from leadflow.services.store.ports import LeadLink, MergeRecord

if TYPE_CHECKING:
    from tests.fakes.store import FakeLeads


@dataclass
class FakeLinkBook:
    """Standing merges (with what each moved) and links between leads."""

    merges: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)

    def record_alias(self, survivor: str, alias: str) -> None:
        self.merges.append({"survivor": survivor, "absorbed": alias, "aliases": []})

    def merge(self, leads: FakeLeads, survivor: str, absorbed: str, fill_event: str | None) -> None:
        self.merges.append(
            {
                "survivor": survivor,
                "absorbed": absorbed,
                "events": [e.event.event_id for e in leads.events if e.event.lead_id == absorbed],
                "identities": [k for k, v in leads.identities.items() if v == absorbed],
                "consents": [i for i, c in enumerate(leads.consents) if c.lead_id == absorbed],
                "aliases": [a for a, s in leads.merged_into.items() if s == absorbed],
                "fill_event": fill_event,
            }
        )
        leads.events = [
            replace(e, event=replace(e.event, lead_id=survivor))
            if e.event.lead_id == absorbed
            else e
            for e in leads.events
        ]
        leads.identities = {
            k: survivor if v == absorbed else v for k, v in leads.identities.items()
        }
        leads.consents = [
            replace(c, lead_id=survivor) if c.lead_id == absorbed else c for c in leads.consents
        ]
        for alias, into in list(leads.merged_into.items()):
            if into == absorbed:
                leads.merged_into[alias] = survivor
        leads.merged_into[absorbed] = survivor
        leads.decisions.pop(absorbed, None)

    def unmerge(self, leads: FakeLeads, absorbed: str) -> MergeRecord | None:
        if absorbed not in leads.merged_into:
            return None
        standing = [m for m in self.merges if m["absorbed"] == absorbed]
        if not standing:
            return None
        record = standing[-1]
        self.merges.remove(record)
        events = set(record.get("events", []))
        leads.events = [
            replace(e, event=replace(e.event, lead_id=absorbed))
            if e.event.event_id in events
            else e
            for e in leads.events
        ]
        for key in record.get("identities", []):
            leads.identities[key] = absorbed
        consents = set(record.get("consents", []))
        leads.consents = [
            replace(c, lead_id=absorbed) if i in consents else c
            for i, c in enumerate(leads.consents)
        ]
        for alias in record["aliases"]:
            leads.merged_into[alias] = absorbed
        del leads.merged_into[absorbed]
        return MergeRecord(record["survivor"], absorbed, record.get("fill_event"))

    def add_link(self, lead_id: str, related_id: str, relation: str) -> None:
        pairs = {(a, b, r) for a, b, r in self.links} | {(b, a, r) for a, b, r in self.links}
        if (lead_id, related_id, relation) not in pairs:
            self.links.append((lead_id, related_id, relation))

    def links_of(self, leads: FakeLeads, lead_id: str) -> list[LeadLink]:
        found: dict[str, str] = {}
        for one, other, relation in self.links:
            if lead_id in (one, other):
                related = leads.survivor_of(other if one == lead_id else one)
                if related != lead_id:
                    found.setdefault(related, relation)
        return [LeadLink(i, found[i]) for i in sorted(found)]
