"""The routing invariant after every step of any sequence of what happens to leads, on the
real store (SQLite and PostgreSQL): engagement that heats a lead up, time that cools it down
(the worker's time-driven pass and SLA checks: reminders, breaches, reassignment), sales
actions (accept, reject, discovery, schedule, disqualify), outreach, absences and assignment
by hand. After each step every routed lead of the run has its owner in the team of its
queue and at most one running clock, on that queue, with its stage and band's SLA."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from leadflow.domain.purposes import Purpose
from leadflow.domain.tasks import TASK_PURPOSES
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.services.routing.invariant import route_problems
from leadflow.services.routing.sla import run_due
from leadflow.services.store.time_driven import redecide_due
from tests.factories import CAREGIVER
from tests.fakes import FakeClock

LOCAL = "http://127.0.0.1"
RUNS = itertools.count()
ENGAGEMENT = {  # the seeds' caregiver: form, guide and scheduling page make an MQL
    "form": ("form_submitted", {"form": "specialty-enquiry", "service_line": "dermatology"}),
    "guide": (
        "content_downloaded",
        {"asset": "dermatology-patient-guide", "topic": "dermatology"},
    ),
    "scheduling": ("page_viewed", {"url": "https://northwind.example/schedule/dermatology"}),
    "careers": ("page_viewed", {"url": "https://northwind.example/careers/nursing"}),
}
ACTIONS = {
    "accept": {},
    "reject": {"reason": "no_active_need"},
    "discovery": {"need_confirmed": True, "timeline": "this month", "next_step": "booked"},
    "sql": {
        "need_confirmed": True,
        "eligibility_confirmed": True,
        "timeline": "this month",
        "next_step": "booked",
    },
    "no_timeline": {"need_confirmed": True, "no_timeline_reason": "waiting for insurance"},
    "schedule": {"note": "booked for next week"},
    "disqualify": {"reason": "out_of_coverage_area"},
}
MEMBERS = ("luis", "priya", "sam", "dana", "tomas", "erin")


class Leads(RuleBasedStateMachine):
    """Two leads of one run, and everything that can happen to them."""

    app: App
    client: TestClient
    clock: FakeClock
    routed_seen = 0  # leads seen routed over all runs: the machine must reach routing
    tasks_seen = 0  # clocks seen with a task (an appointment, a recheck): it must reach them

    def __init__(self) -> None:
        super().__init__()
        run = next(RUNS)
        self.ids = [f"SM{run}-{n}" for n in range(2)]
        self.events = itertools.count()
        for n, lead_id in enumerate(self.ids):
            lead = {**CAREGIVER, "lead_id": lead_id, "email": f"sm{run}.{n}@example.com"}
            lead.pop("phone", None)
            assert self.client.post("/v1/leads", json=lead).status_code == 201

    def _post(self, lead_id: str, kind: str, props: dict[str, Any]) -> None:
        event = {
            "event_id": f"{lead_id}-e{next(self.events)}",
            "lead_id": lead_id,
            "type": kind,
            "occurred_at": self.clock().isoformat(),
            "properties": props,
        }
        answer = self.client.post("/v1/events?wait=decision", json=event)
        assert answer.status_code == 201, answer.text

    @rule(n=st.integers(0, 1), what=st.sampled_from(sorted(ENGAGEMENT)))
    def engage(self, n: int, what: str) -> None:
        self._post(self.ids[n], *ENGAGEMENT[what])

    @rule(n=st.integers(0, 1))
    def heat_up(self, n: int) -> None:
        """Form, guide and scheduling page at once: the caregiver's path to MQL."""
        for what in ("form", "guide", "scheduling"):
            self._post(self.ids[n], *ENGAGEMENT[what])

    @rule(n=st.integers(0, 1), member=st.sampled_from(MEMBERS))
    def to_sql(self, n: int, member: str) -> None:
        """A member accepts the lead and completes a full discovery (from any stage: a
        stage that refuses it answers 409)."""
        for path, body in (("accept", ACTIONS["accept"]), ("discovery", ACTIONS["sql"])):
            answer = self.client.post(
                f"/v1/leads/{self.ids[n]}/actions/{path}", json=body, headers={"X-Actor": member}
            )
            assert answer.status_code in {200, 409}, answer.text

    @rule(n=st.integers(0, 1))
    def reach(self, n: int) -> None:
        self._post(self.ids[n], "outreach_logged", {"channel": "phone"})

    @rule(n=st.integers(0, 1), action=st.sampled_from(sorted(ACTIONS)))
    def act(self, n: int, action: str) -> None:
        path = "discovery" if action in {"no_timeline", "sql"} else action
        answer = self.client.post(f"/v1/leads/{self.ids[n]}/actions/{path}", json=ACTIONS[action])
        assert answer.status_code in {200, 409}, answer.text  # 409: the stage refuses it

    @rule(n=st.integers(0, 1), member=st.sampled_from(MEMBERS))
    def assign(self, n: int, member: str) -> None:
        answer = self.client.post(f"/v1/leads/{self.ids[n]}/assign", json={"owner": member})
        assert answer.status_code in {200, 409, 422}, answer.text  # not routed / other team

    @rule(member=st.sampled_from(MEMBERS), days=st.integers(1, 5))
    def away(self, member: str, days: int) -> None:
        body = {
            "starts_at": self.clock().isoformat(),
            "ends_at": (self.clock() + timedelta(days=days)).isoformat(),
        }
        answer = self.client.post(f"/v1/members/{member}/absences", json=body)
        assert answer.status_code == 201, answer.text

    @rule(hours=st.sampled_from([0.25, 1, 3, 12, 30, 24 * 4, 24 * 20, 24 * 35]))
    def time_passes(self, hours: float) -> None:
        self.clock.advance(hours=hours)
        redecide_due(self.app.db.run, self.app.playbooks, self.clock())
        run_due(self.app.db.run, self.app.playbooks, self.clock(), 50)

    @invariant()
    def routing_holds(self) -> None:
        with self.app.db.view() as view:
            leads = [lead for lead in view.routed_leads() if lead.lead_id in self.ids]
        Leads.routed_seen += sum(1 for lead in leads if lead.route is not None)
        for lead in leads:
            assert lead.route is not None, f"{lead.lead_id}: a clock without a route"
            problems = route_problems(self.app.playbooks(lead.route.playbook_id), lead)
            assert problems == [], f"{lead.lead_id}: {problems}"

    @invariant()
    def tasks_follow_clocks(self) -> None:
        """A running appointment or recheck clock has its one open task; no other rule task
        is open."""
        with self.app.db.view() as view:
            running = {
                lead.lead_id: [c.purpose for c in lead.running]
                for lead in view.routed_leads()
                if lead.lead_id in self.ids
            }
            for lead_id in self.ids:
                ruled = [t["kind"] for t in view.tasks(lead_id=lead_id) if t["rule_key"]]
                wanted = [p for p in running.get(lead_id, []) if Purpose(p) in TASK_PURPOSES]
                Leads.tasks_seen += len(wanted)
                assert sorted(ruled) == sorted(wanted), f"{lead_id}: tasks {ruled}, clocks {wanted}"


def test_the_routing_invariant_holds_after_every_step(
    make_app: Callable[..., App], clock: FakeClock
) -> None:
    app = make_app()
    Leads.app, Leads.clock, Leads.routed_seen, Leads.tasks_seen = app, clock, 0, 0
    with TestClient(create_app(app), base_url=LOCAL) as client:
        Leads.client = client
        run_state_machine_as_test(
            Leads,
            settings=settings(
                max_examples=20,
                stateful_step_count=14,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    assert Leads.routed_seen > 0, "no step ever routed a lead: the machine tests nothing"
    assert Leads.tasks_seen > 0, "no step ever made a task: the task invariant tested nothing"
