"""Qualify a batch: group the events by lead, then decide every lead in input order.

Leads stream through (one decision at a time); events are read in full first, because a
file of events is rarely sorted by lead. Events naming a lead that is not in the batch are
not dropped silently: :attr:`QualificationBatch.unmatched` lists them for the caller to
report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.decision import Decision
from leadflow.domain.events import Event
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import PlaybookChoice, with_choice
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError


@dataclass(frozen=True)
class PerLead:
    """Each lead decided under the playbook it names, else the one the deployment's rules
    choose; its decision says which rule chose it, and warns when the playbook is not
    written for the lead's type."""

    choice: PlaybookChoice
    playbooks: Callable[[str], Playbook]

    def decide(self, lead: LeadProfile, events: Iterable[Event], as_of: datetime) -> Decision:
        chosen = self.choice.choose(lead)
        playbook = self.playbooks(chosen.playbook)
        decision = qualify(lead, events, playbook, as_of)
        return with_choice(decision, chosen.rule, lead.lead_type, playbook)


@dataclass(frozen=True)
class UnmatchedEvents:
    """Events that name a lead id not among the batch's leads, in input order."""

    lead_id: str
    event_ids: tuple[str, ...]


def group_by_lead(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Events per lead id, in input order, lead ids in order of first appearance."""
    by_lead: dict[str, list[Event]] = {}
    for event in events:
        found = by_lead.get(event.lead_id)
        if found is None:
            by_lead[event.lead_id] = [event]
        else:
            found.append(event)
    return by_lead


def unmatched_events(
    by_lead: Mapping[str, Sequence[Event]], lead_ids: Container[str]
) -> tuple[UnmatchedEvents, ...]:
    """The events of ``by_lead`` (see :func:`group_by_lead`) whose lead is not in ``lead_ids``."""
    return tuple(
        UnmatchedEvents(lead_id, tuple(e.event_id for e in found))
        for lead_id, found in by_lead.items()
        if lead_id not in lead_ids
    )


class QualificationBatch(Iterator[Decision]):
    """The decisions of one batch, one per lead in input order.

    Iterate it to get the decisions; afterwards ``unmatched`` lists the events whose lead
    never came, and ``stage_counts`` counts the decisions by stage as they are made.
    """

    def __init__(
        self,
        leads: Iterable[LeadProfile],
        events: Iterable[Event],
        playbook: Playbook | PerLead,
        as_of: datetime,
    ) -> None:
        if as_of.tzinfo is None:
            raise LeadflowError("as_of must be timezone-aware")
        self.stage_counts: Counter[Stage] = Counter()
        self._unmatched: tuple[UnmatchedEvents, ...] | None = None
        self._decisions = self._decide(leads, events, playbook, as_of)

    def __next__(self) -> Decision:
        return next(self._decisions)

    @property
    def qualified(self) -> int:
        """How many decisions have been made so far."""
        return self.stage_counts.total()

    @property
    def unmatched(self) -> tuple[UnmatchedEvents, ...]:
        """Events for lead ids that were not among the leads; known once iteration ends."""
        if self._unmatched is None:
            raise LeadflowError("unmatched events are known only after the last decision")
        return self._unmatched

    def _decide(
        self,
        leads: Iterable[LeadProfile],
        events: Iterable[Event],
        playbook: Playbook | PerLead,
        as_of: datetime,
    ) -> Iterator[Decision]:
        by_lead = group_by_lead(events)
        seen: set[str] = set()
        no_events: tuple[Event, ...] = ()
        for lead in leads:
            seen.add(lead.lead_id)
            own = by_lead.get(lead.lead_id, no_events)
            if isinstance(playbook, PerLead):
                decision = playbook.decide(lead, own, as_of)
            else:
                decision = qualify(lead, own, playbook, as_of)
            self.stage_counts[decision.stage] += 1
            yield decision
        self._unmatched = unmatched_events(by_lead, seen)


def qualify_batch(
    leads: Iterable[LeadProfile],
    events: Iterable[Event],
    playbook: Playbook | PerLead,
    as_of: datetime,
) -> QualificationBatch:
    """Decide every lead at ``as_of`` under ``playbook`` (or each under its own, see
    :class:`PerLead`), with its own events.

    Returns an iterator of decisions in lead order (see :class:`QualificationBatch` for the
    unmatched events and counts). Events are grouped on the first ``next()``; ``as_of`` must
    be timezone-aware.
    """
    return QualificationBatch(leads, events, playbook, as_of)
