"""Drive the lead store through a simulated year, one timed step at a time.

Planned engagement (from :mod:`leadflow.services.demo.world`) and the sales team's reactions
sit in one priority queue ordered by time; each step is handed to the store's services with
``Context(now=<step time>)``, so decisions, stage history and audit records carry the
simulated instants. What sales does next depends on the stage the step produced and on the
lead's latent propensity. Steps are grouped into units of work of up to ``BATCH`` steps (each
step keeps its own instant).

The fill assumes it is the only writer: a unit of work retried after a lost race would apply
its steps twice, so a retry is refused with a clear error instead.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from leadflow.domain.events import Event, EventType, PropertyValue
from leadflow.domain.lifecycle import NO_TIMELINE
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.reasons import ReasonKind
from leadflow.domain.stages import SalesAction, Stage
from leadflow.errors import ActionNotAllowedError, DemoRetryError, LeadflowError
from leadflow.services.demo.reasons import DISQUALIFIED_AT_REVIEW, ELIGIBILITY_FAILED, pick_reason
from leadflow.services.demo.truth import ground_truth
from leadflow.services.demo.world import DAYS, DemoLead, plan_leads
from leadflow.services.redaction import TextScanner
from leadflow.services.store.intake import Context, record_events, upsert_lead
from leadflow.services.store.lifecycle import Requalified
from leadflow.services.store.ports import PlaybookLookup, UnitOfWork
from leadflow.services.store.sales import take_action

T = TypeVar("T")
RunUnit = Callable[[Callable[[UnitOfWork], Any]], Any]
Progress = Callable[[int, int], None]

BATCH = 200
# MQLs of the last days are often still waiting at the end: the reps' queues are not empty.
BACKLOG = timedelta(days=10)
SOURCE = "demo-data"
REPS = {
    "specialty-clinic": ("rep:jamie.ortiz", "rep:lee.chen", "rep:sam.patel"),
    "respiratory-program": ("rep:robin.diaz", "rep:kai.morgan"),
    "referral-partner": ("rep:alex.kim", "rep:noor.haddad"),
    "healthtech-b2b": ("rep:dana.wright", "rep:chris.novak"),
}
# Median hours to first outreach per queue (phone queues are fast, email queues slow).
FIRST_OUTREACH_H = {
    "patient_scheduling": 1.5,
    "patient_education": 20.0,
    "respiratory_intake": 6.0,
    "referral_coordinators": 10.0,
    "b2b_sales": 8.0,
}
PHONE_QUEUES = frozenset({"patient_scheduling", "respiratory_intake", "referral_coordinators"})
RESPIRATORY_DECIDERS = ("the patient with their pulmonologist", "the patient and family")


@dataclass
class _LeadState:
    lead: DemoLead
    stage: str = "new"
    status: str = ""
    queue: str | None = None
    owner: str | None = None
    band: str = "none"
    in_cycle: bool = False
    events: int = 0
    reached: set[str] = field(default_factory=set)


@dataclass(order=True)
class _Step:
    at: datetime
    seq: int
    lead: int = field(compare=False)
    kind: str = field(compare=False)
    payload: tuple[tuple[EventType, dict[str, PropertyValue]], ...] = field(
        compare=False, default=()
    )


@dataclass(frozen=True)
class DemoSummary:
    """What a fill produced: counts, the ground truth and how long it took."""

    leads: int
    seed: int
    start: datetime
    end: datetime
    per_playbook: dict[str, int]
    final_stages: dict[str, int]
    steps: int
    events: int
    seconds: float
    truth: dict[str, Any]


class Simulation:
    """The queue of timed steps and the per-lead state the sales team reacts to."""

    def __init__(
        self,
        leads: list[DemoLead],
        seed: int,
        start: datetime,
        end: datetime,
        playbooks: PlaybookLookup,
        *,
        scanner: TextScanner | None = None,
    ) -> None:
        self.seed, self.start, self.end, self.playbooks = seed, start, end, playbooks
        self.scanner = scanner
        self.state = {lead.index: _LeadState(lead) for lead in leads}
        self.queue: list[_Step] = []
        self.seq = 0
        self.steps = 0
        self.events = 0
        self.reasons: dict[str, Counter[str]] = {
            "rejected": Counter(),
            "disqualified_by_sales": Counter(),
            "lost": Counter(),
            "hard_stop": Counter(),
        }
        self.first_outreach_hours: list[float] = []
        for lead in leads:
            self._push(lead.profile.created_at or start, lead.index, "create")

    # -- scheduling -------------------------------------------------------------------
    def _push(
        self,
        at: datetime,
        lead: int,
        kind: str,
        payload: tuple[tuple[EventType, dict[str, PropertyValue]], ...] = (),
    ) -> None:
        if at > self.end:
            return  # beyond the simulated year: the lead stays open
        self.seq += 1
        heapq.heappush(self.queue, _Step(at, self.seq, lead, kind, payload))

    def _rng(self, step: _Step) -> random.Random:
        return random.Random(f"{self.seed}:{step.lead}:{step.kind}:{step.seq}")  # noqa: S311 (simulation)

    def _ctx(self, step: _Step, actor: str) -> Context:
        lead = self.state[step.lead].lead
        choice = PlaybookChoice((), lead.playbook, "the demo's plan")  # every lead names its own
        return Context(actor, SOURCE, step.at, self.playbooks, choice, self.scanner)

    def _event(
        self, st: _LeadState, kind: EventType, at: datetime, props: Mapping[str, PropertyValue]
    ) -> Event:
        st.events += 1
        self.events += 1
        return Event(
            f"demo-E{st.lead.index:06d}-{st.events:03d}", st.lead.lead_id, kind, at, dict(props)
        )

    # -- running ----------------------------------------------------------------------
    def run(self, uow: RunUnit, progress: Progress | None = None) -> None:
        """Process every step in time order, ``BATCH`` steps per unit of work."""
        while self.queue:
            calls = [0]

            def work(store: UnitOfWork, calls: list[int] = calls) -> None:
                calls[0] += 1
                if calls[0] > 1:
                    raise DemoRetryError(
                        "another writer changed the database during the demo fill; "
                        "fill a database nobody else writes to"
                    )
                for _ in range(BATCH):
                    if not self.queue:
                        return
                    self._do(store, heapq.heappop(self.queue))

            uow(work)
            if progress is not None:
                at = self.queue[0].at if self.queue else self.end
                progress(min(DAYS, (at - self.start).days), DAYS)

    def _do(self, store: UnitOfWork, step: _Step) -> None:
        self.steps += 1
        st = self.state[step.lead]
        rng = self._rng(step)
        handler = getattr(self, f"_step_{step.kind}")
        result: Requalified | None = handler(store, step, st, rng)
        if result is not None:
            self._after(step, st, result, rng)

    def _record(
        self, store: UnitOfWork, step: _Step, st: _LeadState, actor: str, events: list[Event]
    ) -> Requalified:
        result = record_events(store, events, self._ctx(step, actor))
        return result.leads[st.lead.lead_id]

    def _act(
        self,
        store: UnitOfWork,
        step: _Step,
        st: _LeadState,
        action: SalesAction,
        props: Mapping[str, PropertyValue],
        *,
        actor: str,
    ) -> Requalified | None:
        """A sales action through ``take_action``, if the lead's stage allows it (with the
        event id the next event of this lead gets, so that the run is reproducible)."""
        event_id = f"demo-E{st.lead.index:06d}-{st.events + 1:03d}"
        try:
            result = take_action(
                store,
                st.lead.lead_id,
                action,
                props,
                self._ctx(step, actor),
                occurred_at=step.at,
                event_id=event_id,
            )
        except ActionNotAllowedError:
            st.in_cycle = False
            return None
        st.events += 1
        self.events += 1
        return result.leads[st.lead.lead_id]

    def _after(self, step: _Step, st: _LeadState, result: Requalified, rng: random.Random) -> None:
        decision = result.decision
        st.stage, st.status, st.band = decision.stage.value, decision.status, decision.band
        st.queue = decision.route.queue
        st.owner = decision.route.owner or st.owner
        if result.changed:
            st.reached.add(st.stage)
            by_rules = st.lead.hard_stop is not None or step.kind in ("create", "touch")
            if (
                decision.stage is Stage.DISQUALIFIED
                and decision.disqualification_reason
                and by_rules
            ):
                self.reasons["hard_stop"][decision.disqualification_reason] += 1
        if decision.stage is Stage.MQL and not st.in_cycle and decision.status != NO_TIMELINE:
            st.in_cycle = True
            median = FIRST_OUTREACH_H.get(st.queue or "", 12.0)
            hours = rng.lognormvariate(0, 0.8) * median
            if rng.random() < 0.1:
                hours += rng.uniform(48, 144)  # the queue fell behind
            if step.at >= self.end - BACKLOG and rng.random() < 0.6:
                hours += rng.uniform(24 * 10, 24 * 20)  # today's backlog: not worked yet
            if step.at + timedelta(hours=hours) <= self.end:
                self.first_outreach_hours.append(hours)
            self._push(step.at + timedelta(hours=hours), st.lead.index, "outreach")

    # -- steps ------------------------------------------------------------------------
    def _step_create(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified:
        lead = st.lead
        created = upsert_lead(
            store,
            lead.profile,
            self._ctx(step, f"demo:{lead.channel}"),
            consent_evidence={"method": "form", "purpose": "marketing"},
        )
        for number, touch in enumerate(lead.touches):
            at = step.at + touch.offset + timedelta(seconds=30 if number == 0 else 0)
            self._push(at.replace(microsecond=0), lead.index, "touch", touch.events)
        return created.decided

    def _step_touch(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        if st.stage in ("won", "lost") or (st.stage == "disqualified" and "sales" in st.status):
            return None  # a closed lead is not followed any more
        events = [
            self._event(st, kind, step.at + timedelta(seconds=n), props)
            for n, (kind, props) in enumerate(step.payload)
        ]
        return self._record(store, step, st, f"demo:{st.lead.channel}", events)

    def _reason(
        self, st: _LeadState, kind: ReasonKind, rng: random.Random, fitting: tuple[str, ...] = ()
    ) -> str:
        """A reason code the lead's playbook declares (:mod:`.reasons`)."""
        return pick_reason(self.playbooks(st.lead.playbook).reasons, kind, rng, fitting)

    def _rep(self, st: _LeadState) -> str:
        """The lead's owner (the member routing gave it), or one of the program's reps."""
        if st.owner is not None:
            return st.owner
        reps = REPS[st.lead.playbook]
        return reps[st.lead.index % len(reps)]

    def _step_outreach(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified:
        profile = st.lead.profile
        phone = st.queue in PHONE_QUEUES and profile.phone and profile.consent_phone
        channel = "phone" if phone else "email"
        event = self._event(st, EventType.OUTREACH_LOGGED, step.at, {"channel": channel})
        self._push(step.at + timedelta(minutes=rng.uniform(10, 90)), st.lead.index, "review")
        return self._record(store, step, st, self._rep(st), [event])

    def _step_review(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        p, rep = st.lead.propensity, self._rep(st)
        roll = rng.random()
        if roll < 0.05:
            fitting = DISQUALIFIED_AT_REVIEW.get(st.lead.profile.lead_type or "", ())
            reason = self._reason(st, ReasonKind.DISQUALIFY, rng, fitting)
            self.reasons["disqualified_by_sales"][reason] += 1
            return self._act(store, step, st, SalesAction.DISQUALIFY, {"reason": reason}, actor=rep)
        if roll < 0.05 + 0.95 * (0.15 + 0.8 * p):
            self._push(step.at + timedelta(days=rng.uniform(1, 6)), st.lead.index, "discovery")
            return self._act(store, step, st, SalesAction.ACCEPT, {"owner": rep}, actor=rep)
        return self._reject(store, step, st, rng, reason=self._reason(st, ReasonKind.REJECT, rng))

    def _reject(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random, *, reason: str
    ) -> Requalified | None:
        self.reasons["rejected"][reason] += 1
        result = self._act(
            store, step, st, SalesAction.REJECT, {"reason": reason}, actor=self._rep(st)
        )
        st.in_cycle = False
        if result is not None and rng.random() < 0.55:
            # recycled: the nurture track mails them; some open, the keener ones click
            at = step.at + timedelta(days=rng.uniform(20, 90))
            events: list[tuple[EventType, dict[str, PropertyValue]]] = [
                (EventType.EMAIL_OPENED, {"campaign": "recycled-nurture"})
            ]
            if rng.random() < st.lead.propensity:
                events.append((EventType.EMAIL_CLICKED, {"campaign": "recycled-nurture"}))
            self._push(at.replace(microsecond=0), st.lead.index, "touch", tuple(events))
        return result

    def _answers(self, st: _LeadState, rng: random.Random) -> dict[str, PropertyValue]:
        answers: dict[str, PropertyValue] = {
            "need_confirmed": True,
            "eligibility_confirmed": True,
            "timeline": rng.choice(("this month", "within 30 days", "next quarter")),
            "next_step": "appointment booked"
            if st.lead.profile.lead_type == "patient"
            else "discovery call booked",
        }
        if st.lead.playbook == "respiratory-program":
            answers["decision_path"] = RESPIRATORY_DECIDERS[st.lead.index % 2]
        elif st.lead.profile.lead_type != "patient":
            answers["decision_path"] = rng.choice(
                (
                    "practice manager decides",
                    "IT, privacy and the CFO sign off",
                    "referral coordinator",
                )
            )
        return answers

    def _step_discovery(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        p, rep = st.lead.propensity, self._rep(st)
        answers = self._answers(st, rng)
        if rng.random() > 0.3 + 0.7 * p:
            st.in_cycle = False  # discovery found no active need: recycled
            return self._act(
                store, step, st, SalesAction.DISCOVERY, {"need_confirmed": False}, actor=rep
            )
        if rng.random() < 0.05 + 0.3 * (1 - p):
            for name in ("timeline", "next_step"):
                answers.pop(name)
            answers["no_timeline_reason"] = rng.choice(
                ("waiting for insurance approval", "budget next fiscal year", "after the holidays")
            )
            days = self.playbooks(st.lead.playbook).sql.no_timeline_recheck_days
            self._push(step.at + timedelta(days=days + rng.uniform(0, 5)), st.lead.index, "recheck")
        elif step.kind == "discovery" and rng.random() < 0.25:
            answers.pop("eligibility_confirmed")
            answers.pop("next_step")
            self._push(step.at + timedelta(days=rng.uniform(2, 7)), st.lead.index, "eligibility")
        else:
            self._push(step.at + timedelta(days=rng.uniform(1, 10)), st.lead.index, "appointment")
        return self._act(store, step, st, SalesAction.DISCOVERY, answers, actor=rep)

    def _step_eligibility(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        rep = self._rep(st)
        if rng.random() < 0.15:
            fitting = ELIGIBILITY_FAILED.get(st.lead.profile.lead_type or "", ())
            reason = self._reason(st, ReasonKind.DISQUALIFY, rng, fitting)
            self.reasons["disqualified_by_sales"][reason] += 1
            return self._act(store, step, st, SalesAction.DISQUALIFY, {"reason": reason}, actor=rep)
        self._push(step.at + timedelta(days=rng.uniform(1, 10)), st.lead.index, "appointment")
        answers = self._answers(st, rng)
        return self._act(store, step, st, SalesAction.DISCOVERY, answers, actor=rep)

    def _step_recheck(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        if st.stage != "mql" or st.status != NO_TIMELINE:
            st.in_cycle = st.stage in ("sales_accepted", "sql", "opportunity")
            return None
        if rng.random() < st.lead.propensity:
            self._push(step.at + timedelta(days=rng.uniform(1, 10)), st.lead.index, "appointment")
            return self._act(
                store, step, st, SalesAction.DISCOVERY, self._answers(st, rng), actor=self._rep(st)
            )
        reason = self._reason(st, ReasonKind.REJECT, rng, ("not_ready",))
        return self._reject(store, step, st, rng, reason=reason)

    def _step_appointment(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        rep = self._rep(st)
        if st.stage != "sql":
            return None
        if rng.random() < 0.1:
            reason = self._reason(st, ReasonKind.LOSE, rng, ("no_response",))
            self.reasons["lost"][reason] += 1
            return self._act(store, step, st, SalesAction.LOSE, {"reason": reason}, actor=rep)
        profile = st.lead.profile
        if profile.phone and not profile.consent_sms and rng.random() < 0.5:
            # reminders by text: the patient opts in when the appointment is booked
            grant = self._event(st, EventType.CONSENT_GRANTED, step.at, {"channel": "sms"})
            self._record(store, step, st, rep, [grant])
        when = (step.at + timedelta(days=rng.uniform(2, 21))).replace(
            minute=0, second=0, microsecond=0
        )
        self._push(when + timedelta(hours=rng.randint(1, 8)), st.lead.index, "outcome")
        return self._act(
            store, step, st, SalesAction.SCHEDULE, {"scheduled_for": when.isoformat()}, actor=rep
        )

    def _step_outcome(
        self, store: UnitOfWork, step: _Step, st: _LeadState, rng: random.Random
    ) -> Requalified | None:
        rep = self._rep(st)
        if rng.random() < 0.3 + 0.6 * st.lead.propensity:
            return self._act(store, step, st, SalesAction.WIN, {}, actor=rep)
        reason = self._reason(st, ReasonKind.LOSE, rng)
        self.reasons["lost"][reason] += 1
        return self._act(store, step, st, SalesAction.LOSE, {"reason": reason}, actor=rep)

    def truth(self) -> dict[str, Any]:
        """The ground truth of this fill (:func:`ground_truth`)."""
        return ground_truth(
            self.state.values(),
            seed=self.seed,
            start=self.start,
            end=self.end,
            reasons=self.reasons,
            first_outreach_hours=self.first_outreach_hours,
        )


def simulate(
    uow: RunUnit,
    playbooks: PlaybookLookup,
    *,
    leads: int,
    seed: int,
    end: datetime,
    progress: Progress | None = None,
    scanner: TextScanner | None = None,
) -> DemoSummary:
    """Fill the store behind ``uow`` with ``leads`` simulated leads of the year before ``end``."""
    if end.tzinfo is None:
        raise LeadflowError("end must be timezone-aware")
    began = time.perf_counter()
    planned = plan_leads(leads, seed, end)
    start = end - timedelta(days=DAYS)
    sim = Simulation(planned, seed, start, end, playbooks, scanner=scanner)
    sim.run(uow, progress)
    truth = sim.truth()
    return DemoSummary(
        leads=len(planned),
        seed=seed,
        start=start,
        end=end,
        per_playbook={k: v["leads"] for k, v in sorted(truth["playbooks"].items())},
        final_stages=truth["final_stages"],
        steps=sim.steps,
        events=sim.events,
        seconds=round(time.perf_counter() - began, 2),
        truth=truth,
    )
