"""Re-qualify every open lead at one instant: time decay, or a changed playbook.

Leads are read and written in batches, one unit of work per batch, so a long run holds no
lock for long and a stopped run has committed whole batches only (running it again is
harmless: a lead whose decision is unchanged gets no history row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime

from leadflow.domain.decision import Route
from leadflow.domain.events import Event
from leadflow.domain.next_change import next_change
from leadflow.domain.playbook import Playbook
from leadflow.services.nurture import on_decision
from leadflow.services.routing.assign import route_decision
from leadflow.services.store.lifecycle import (
    Requalified,
    current_profile,
    decide,
    record_stage_change,
    service_line_read,
)
from leadflow.services.store.ports import PlaybookLookup, UnitOfWork

OpenUnit = Callable[[], AbstractContextManager[UnitOfWork]]


@dataclass
class RequalifyReport:
    """How many open leads were decided, and how many moved from which stage to which."""

    leads: int = 0
    transitions: Counter[tuple[str | None, str]] = field(default_factory=Counter)

    @property
    def changed(self) -> int:
        return sum(self.transitions.values())


def _open_ids(unit: OpenUnit, batch: int) -> Iterator[list[str]]:
    """Pages of open lead ids, each read in a short unit of work of its own."""
    after = ""
    while True:
        with unit() as store:
            ids = store.leads.open_lead_ids(after, batch)
        if not ids:
            return
        yield ids
        after = ids[-1]


def requalify_all(
    unit: OpenUnit,
    playbooks: PlaybookLookup,
    as_of: datetime,
    actor: str,
    *,
    dry_run: bool = False,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> RequalifyReport:
    """Decide every open lead at ``as_of``; write unless ``dry_run``. Returns the changes."""
    report = RequalifyReport()
    for ids in _open_ids(unit, batch):
        with unit() as store:
            if dry_run:
                _decide_batch(
                    store, ids, playbooks, report, {}, as_of=as_of, actor=actor, dry_run=True
                )
                store.rollback()
            else:
                decide_many(store, ids, playbooks, report, as_of=as_of, actor=actor)
                store.commit()
        report.leads += len(ids)
        if progress is not None:
            progress(len(ids))
    return report


def decide_many(
    store: UnitOfWork,
    ids: list[str],
    playbooks: PlaybookLookup,
    report: RequalifyReport,
    *,
    as_of: datetime,
    actor: str,
) -> None:
    """Decide ``ids`` at ``as_of`` in the caller's unit of work and store the decisions
    (with when time alone may change each), routes, stage changes and their effects; a
    handful of statements for the whole batch."""
    after: dict[str, datetime | None] = {}  # when time alone may change each decision
    changed = _decide_batch(
        store, ids, playbooks, report, after, as_of=as_of, actor=actor, dry_run=False
    )
    store.leads.save_decisions([r.decision for r in changed], as_of, after)
    for result in changed:
        record_stage_change(store, result, as_of, actor)


def _decide_batch(
    store: UnitOfWork,
    ids: list[str],
    playbooks: PlaybookLookup,
    report: RequalifyReport,
    next_changes: dict[str, datetime | None],
    *,
    as_of: datetime,
    actor: str,
    dry_run: bool,
) -> list[Requalified]:
    """Decide one batch of leads (counting the transitions in ``report``); unless
    ``dry_run``, route them and take the effects of each stage change (nurture, webhooks)."""
    leads = store.leads.leads_many(ids)
    events = store.leads.events_of_many(ids)
    current = store.leads.stages_many(ids)
    routes = store.routing.routes_many(ids)
    changed: list[Requalified] = []
    for lead in leads:
        playbook = playbooks(lead.playbook)
        timeline = events[lead.lead_id]
        decision = decide(lead, timeline, playbook, as_of)
        if not dry_run:
            next_changes[lead.lead_id] = next_change(
                lead.profile, timeline, playbook, decision, as_of
            )
        result = Requalified(decision, current.get(lead.lead_id))
        if result.changed:
            report.transitions[(result.before, decision.stage.value)] += 1
        if not dry_run:
            route = routes.get(lead.lead_id)
            result = _routed(store, playbook, result, route, timeline, as_of=as_of, actor=actor)
        changed.append(result)
        if result.changed and not dry_run:
            on_decision(
                store,
                playbook,
                result.decision,
                before=result.before,
                service_line=service_line_read(playbook, current_profile(lead, timeline)),
                events=timeline,
                at=as_of,
                actor=actor,
            )
    return changed


def _routed(
    store: UnitOfWork,
    playbook: Playbook,
    result: Requalified,
    route: Route | None,
    timeline: list[Event],
    *,
    as_of: datetime,
    actor: str,
) -> Requalified:
    """The decision with its route: routed again when its stage or queue changed, else the
    owner and clock it had stay."""
    decision = result.decision
    if result.changed or (route or Route()).queue != decision.route.queue:
        routed = route_decision(
            store,
            playbook,
            decision,
            changed=result.changed,
            events=timeline,
            at=as_of,
            actor=actor,
        )
        return Requalified(routed, result.before)
    if route is not None:  # same stage and queue: the owner and clock stay
        return Requalified(replace(decision, route=route), result.before)
    return result
