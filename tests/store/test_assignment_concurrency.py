"""Parallel assignment never double-assigns and keeps members' loads within one of each other.

Four workers, each with its own engine and connection pool, route leads of one team at the
same time. On PostgreSQL each claim locks one member's row with ``FOR UPDATE SKIP LOCKED``
and moves on to the next-best member when another worker holds it; on SQLite writers take
turns. Either way every lead gets exactly one owner and one assignment record.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from leadflow.adapters.db.tables import AssignmentRow, LeadRouteRow, MessageRow
from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.decision import Decision, Route
from leadflow.domain.profile import LeadProfile
from leadflow.domain.stages import Stage
from leadflow.entrypoints.bootstrap import App
from leadflow.services.routing.assign import route_decision
from leadflow.services.routing.sla import SlaReport, run_due
from leadflow.services.store.ports import StoredLead
from tests.fakes import START

WORKERS = 4
PER_WORKER = 15


def _decision(lead_id: str, playbook_id: str, version: str, queue: str) -> Decision:
    return Decision(
        lead_id=lead_id,
        stage=Stage.MQL,
        status="MQL",
        fit_score=50.0,
        intent_score=50.0,
        band="mid",
        reasons=(),
        blockers=(),
        disqualification_reason=None,
        next_action="call",
        route=Route(queue=queue),
        playbook_id=playbook_id,
        playbook_version=version,
    )


@pytest.mark.parametrize(
    ("playbook_id", "queue", "members"),
    [
        ("healthtech-b2b", "b2b_sales", {"alex", "morgan", "jordan"}),  # load-balanced
        ("referral-partner", "referral_coordinators", {"omar", "kim", "grace"}),  # round robin
    ],
)
def test_parallel_workers_assign_each_lead_once_and_evenly(
    make_app: Callable[..., App], playbook_id: str, queue: str, members: set[str]
) -> None:
    playbook = load_playbook(playbook_id)
    setup = make_app()
    ids = [f"P{w}-{n:02d}" for w in range(WORKERS) for n in range(PER_WORKER)]
    with setup.db.unit_of_work() as store:
        for lead_id in ids:
            profile = LeadProfile(lead_id=lead_id, playbook=playbook_id)
            store.leads.add_lead(StoredLead(lead_id, playbook_id, profile, START, START))
        store.commit()

    workers = [make_app() for _ in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []
    owners: dict[str, str | None] = {}

    def work(app: App, mine: list[str]) -> None:
        try:
            barrier.wait(10)
            for lead_id in mine:
                decision = _decision(lead_id, playbook.id, playbook.version, queue)
                routed = app.db.run(
                    lambda store, d=decision: route_decision(
                        store, playbook, d, changed=True, events=[], at=START, actor="test"
                    )
                )
                owners[lead_id] = routed.route.owner
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(app, ids[w * PER_WORKER : (w + 1) * PER_WORKER]))
        for w, app in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(owners) == len(ids)

    with setup.db.read() as session:
        routes = {r.lead_id: r.owner for r in session.execute(select(LeadRouteRow.__table__))}
        history = list(session.execute(select(AssignmentRow.__table__)))
    assert routes == owners  # what each worker was told is what was stored
    assert Counter(h.lead_id for h in history) == Counter(ids)  # one assignment per lead
    counts = Counter(routes.values())
    assert set(counts) == members  # nobody left out, nobody unassigned
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    print(f"{playbook_id} per-member counts: {dict(sorted(counts.items()))}")


def test_capacity_caps_a_member_and_nobody_free_leaves_the_lead_waiting(
    make_app: Callable[..., App],
) -> None:
    playbook = load_playbook("healthtech-b2b")
    team = playbook.teams[0]
    small = replace(team, members=tuple(replace(m, capacity=1) for m in team.members[:2]))
    capped = replace(playbook, teams=(small,))
    app = make_app()
    owners = []
    with app.db.unit_of_work() as store:
        for n in range(3):
            lead_id = f"CAP-{n}"
            store.leads.add_lead(
                StoredLead(lead_id, capped.id, LeadProfile(lead_id=lead_id), START, START)
            )
            decision = _decision(lead_id, capped.id, capped.version, "b2b_sales")
            routed = route_decision(
                store, capped, decision, changed=True, events=[], at=START, actor="test"
            )
            owners.append(routed.route.owner)
        store.commit()
    assert sorted(owners[:2]) == sorted(m.id for m in small.members)
    assert owners[2] is None  # both members are at their cap: the lead waits in the queue


def test_two_sla_workers_racing_breach_each_clock_once(make_app: Callable[..., App]) -> None:
    playbook = load_playbook("referral-partner")
    setup = make_app()
    ids = [f"S-{n:02d}" for n in range(40)]
    with setup.db.unit_of_work() as store:
        for lead_id in ids:
            profile = LeadProfile(lead_id=lead_id, playbook=playbook.id)
            store.leads.add_lead(StoredLead(lead_id, playbook.id, profile, START, START))
            decision = _decision(lead_id, playbook.id, playbook.version, "referral_coordinators")
            route_decision(store, playbook, decision, changed=True, events=[], at=START, actor="t")
        store.commit()
    later = START + timedelta(days=10)  # every clock is past its due and reassignment times
    workers = [make_app(), make_app()]
    barrier = threading.Barrier(2)
    reports: list[SlaReport] = []
    errors: list[BaseException] = []

    def work(app: App) -> None:
        try:
            barrier.wait(10)
            reports.append(run_due(app.db.run, app.playbooks, later, 5))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    total = reports[0] + reports[1]
    assert (total.breached, total.reassigned) == (40, 40)
    with setup.db.read() as session:
        breaches = Counter(
            m.lead_id
            for m in session.execute(select(MessageRow.__table__))
            if m.kind == "sla_breach"
        )
        moved = Counter(
            a.lead_id
            for a in session.execute(select(AssignmentRow.__table__))
            if a.reason == "sla_reassigned"
        )
    assert breaches == Counter(ids)  # one breach notice per lead, not two
    assert moved == Counter(ids)  # one reassignment per lead
