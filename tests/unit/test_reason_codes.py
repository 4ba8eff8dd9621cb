"""Reason codes in the services, on in-memory repositories: actions, posted events and
imports store a declared code (normalised) or refuse, and the reports count one reason as
one row (the same use cases run on both databases in ``tests/store/test_reason_codes.py``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from tests.fakes.store import FakeDatabase, FakeUnitOfWork

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import LeadProfile
from leadflow.domain.reasons import ReasonKind
from leadflow.domain.stages import SalesAction
from leadflow.errors import ActionInputError, InvalidRecordError, PlaybookNotFoundError
from leadflow.services.demo.reasons import pick_reason
from leadflow.services.reports import (
    DecisionFact,
    EventFact,
    LeadFact,
    ReportFacts,
    ReportFilters,
    build_report,
)
from leadflow.services.reports.reasons import ReasonReader, playbook_reasons
from leadflow.services.store.importing import RunState, import_rows
from leadflow.services.store.intake import Context, record_events, upsert_lead
from leadflow.services.store.ports import UnitOfWork
from leadflow.services.store.sales import take_action

T = TypeVar("T")
CLINIC = load_playbook("specialty-clinic")
B2B = load_playbook("healthtech-b2b")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def _playbooks(name: str) -> Playbook:
    found = {p.id: p for p in (CLINIC, B2B)}
    if name not in found:
        raise PlaybookNotFoundError(f"no playbook named `{name}`")
    return found[name]


def _ctx(source: str = "api") -> Context:
    return Context("user:ana", source, NOW, _playbooks, PlaybookChoice((), CLINIC.id))


def _lead(db: FakeDatabase, lead_id: str = "L-1", playbook: str = CLINIC.id) -> None:
    profile = LeadProfile(
        lead_id=lead_id,
        lead_type="patient",
        playbook=playbook,
        email=f"{lead_id.lower()}@example.com",
        service_line="cardiology",
        state="MA",
        consent_email=True,
    )
    db.run(lambda uow: upsert_lead(uow, profile, _ctx()))
    form = {"service_line": "cardiology"}  # the clinic's fast track to MQL
    mql = Event(f"{lead_id}-form", lead_id, EventType.FORM_SUBMITTED, NOW, form)
    db.run(lambda uow: record_events(uow, [mql], _ctx()))


def _stage(uow: FakeUnitOfWork, lead_id: str) -> str:
    return uow.leads.decisions[lead_id].stage


def _reasons_of(uow: FakeUnitOfWork, lead_id: str) -> list[tuple[str, Any, Any]]:
    return [
        (e.type.value, e.prop("reason"), e.prop("note"))
        for e in uow.leads.events_of(lead_id)
        if e.prop("reason") is not None
    ]


def _act(action: SalesAction, **props: Any) -> Callable[[UnitOfWork], object]:
    return lambda uow: take_action(uow, "L-1", action, props, _ctx())


def test_an_action_stores_the_declared_code_it_names_and_keeps_the_note_apart() -> None:
    db = FakeDatabase()
    _lead(db)
    assert _stage(db.uow, "L-1") == "mql"
    db.run(_act(SalesAction.REJECT, reason="  Not-Ready ", note="call back after the move"))
    assert _stage(db.uow, "L-1") == "nurture"
    assert _reasons_of(db.uow, "L-1") == [
        ("sales_rejected", "not_ready", "call back after the move")
    ]


def test_an_undeclared_reason_is_refused_on_its_field_with_the_codes_and_stores_nothing() -> None:
    db = FakeDatabase()
    _lead(db)
    before = len(db.uow.leads.events_of("L-1"))
    with pytest.raises(ActionInputError) as caught:
        db.run(_act(SalesAction.DISQUALIFY, reason="has asthma, wants to wait"))
    error = caught.value
    assert error.field == "reason"
    assert error.allowed == CLINIC.reasons.codes(ReasonKind.DISQUALIFY)
    assert "asthma" not in str(error)  # the value sent is never echoed
    assert "`insurance_not_accepted`" in str(error)
    with pytest.raises(ActionInputError) as wrong_kind:  # a disqualify code, not a reject one
        db.run(_act(SalesAction.REJECT, reason="insurance_not_accepted"))
    assert wrong_kind.value.allowed == CLINIC.reasons.codes(ReasonKind.REJECT)
    assert len(db.uow.leads.events_of("L-1")) == before


def test_each_lead_is_checked_against_its_own_playbook() -> None:
    db = FakeDatabase()
    _lead(db, "L-1", B2B.id)
    with pytest.raises(ActionInputError):  # a clinic's code, not the B2B playbook's
        db.run(_act(SalesAction.DISQUALIFY, reason="insurance_not_accepted"))
    db.run(_act(SalesAction.DISQUALIFY, reason="Not decision role"))
    assert _reasons_of(db.uow, "L-1") == [("disqualified", "not_decision_role", None)]


def test_posted_events_store_codes_and_a_batch_with_a_bad_reason_stores_nothing() -> None:
    db = FakeDatabase()
    _lead(db)
    later = NOW + timedelta(hours=1)
    good = Event("E-1", "L-1", EventType.SALES_REJECTED, later, {"reason": "No active need"})
    silent = Event("E-2", "L-1", EventType.SALES_REJECTED, later, {})
    bad = Event("E-3", "L-1", EventType.CLOSED_LOST, later, {"reason": "went elsewhere"})
    with pytest.raises(InvalidRecordError) as caught:
        db.run(lambda uow: record_events(uow, [good, silent, bad], _ctx()))
    (problem,) = caught.value.problems
    assert (problem.row, problem.record_id, problem.field) == (3, "E-3", "properties.reason")
    assert "not a lose reason code of playbook `specialty-clinic`" in problem.message
    assert _reasons_of(db.uow, "L-1") == []
    db.run(lambda uow: record_events(uow, [good, silent], _ctx()))
    assert _reasons_of(db.uow, "L-1") == [("sales_rejected", "no_active_need", None)]
    again = db.run(lambda uow: record_events(uow, [good], _ctx()))
    assert again.duplicates == ["E-1"]  # the same row again is a copy, not a conflict


class _Run:
    """An import run over the fake database: checkpoint kept in memory."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db, self.done = db, RunState()

    def state(self) -> RunState:
        return self.done

    def batch(self, work: Callable[[UnitOfWork], T], rows_done: int, finished: bool) -> T:
        result = self.db.run(work)
        self.done = RunState(rows_done, finished)
        return result


def test_an_import_refuses_the_row_with_an_undeclared_reason_naming_row_and_field() -> None:
    db = FakeDatabase()
    _lead(db)
    at = NOW + timedelta(hours=2)
    rows = [
        (2, Event("I-1", "L-1", EventType.OUTREACH_LOGGED, at, {"channel": "phone"})),
        (3, Event("I-2", "L-1", EventType.DISQUALIFIED, at, {"reason": "Insurance not accepted"})),
        (4, Event("I-3", "L-1", EventType.DISQUALIFIED, at, {"reason": "moved to Florida"})),
    ]
    result = import_rows("events", rows, _Run(db), lambda: _ctx("import:events.csv"), source="e")
    (refused,) = result.refused
    assert (refused.row, refused.record_id, refused.field) == (4, "I-3", "properties.reason")
    assert "Florida" not in refused.message
    assert result.events_stored == 2
    assert _reasons_of(db.uow, "L-1") == [("disqualified", "insurance_not_accepted", None)]
    again = import_rows("events", rows[:2], _Run(db), lambda: _ctx("import:events.csv"), source="e")
    assert (again.refused, again.events_duplicate) == ([], 2)  # stored as codes: still copies


def _reader() -> ReasonReader:
    return ReasonReader(playbook_reasons(_playbooks))


def _fact(lead_id: str, playbook: str, *events: tuple[str, str | None]) -> LeadFact:
    reader = _reader()
    lead = LeadFact(lead_id, NOW, {}, playbook=playbook)
    lead.events = [EventFact(kind, NOW, reader.read(playbook, why)) for kind, why in events]
    return lead


def test_the_pareto_counts_one_reason_as_one_row_whatever_its_source_and_spelling() -> None:
    hard_stop = _fact("H", CLINIC.id)
    hard_stop.decision = DecisionFact(
        "disqualified", None, _reader().read(CLINIC.id, "out_of_coverage_area")
    )
    leads = [
        hard_stop,
        _fact("R", CLINIC.id, ("disqualified", "out_of_coverage_area")),  # a rep, since codes
        _fact("O", CLINIC.id, ("disqualified", "Out of coverage area")),  # an older store
        _fact("B", B2B.id, ("closed_lost", "No budget")),
        _fact("X", CLINIC.id, ("closed_lost", "went with a cheaper clinic")),
        _fact("N", CLINIC.id, ("closed_lost", None)),
    ]
    report = build_report("disqualifications", ReportFacts(leads, NOW, ReportFilters()))
    assert report.columns[:3] == ("reason", "label", "sources")
    assert [(r["reason"], r["label"], r["sources"], r["count"]) for r in report.rows] == [
        ("out_of_coverage_area", "Outside the coverage area", "disqualified+hard_stop", 3),
        ("(none)", "no reason given", "closed_lost", 1),
        ("no_budget", "No budget", "closed_lost", 1),
        ("went_with_a_cheaper_clinic", "other: went_with_a_cheaper_clinic", "closed_lost", 1),
    ]


def test_acceptance_rows_are_codes_with_labels_and_a_lost_playbook_is_noted() -> None:
    reader = _reader()
    leads = [
        LeadFact("A", NOW, {}, playbook=CLINIC.id),
        LeadFact("B", NOW, {}, playbook=CLINIC.id),
        LeadFact("C", NOW, {}, playbook="retired-program"),
    ]
    leads[0].events = [EventFact("sales_rejected", NOW, reader.read(CLINIC.id, "not_ready"))]
    leads[1].events = [EventFact("sales_rejected", NOW, reader.read(CLINIC.id, "Not ready"))]
    leads[2].events = [
        EventFact("sales_rejected", NOW, reader.read("retired-program", "Not ready"))
    ]
    facts = ReportFacts(leads, NOW, ReportFilters(), tuple(reader.problems))
    report = build_report("acceptance", facts)
    assert [(r["reason"], r["label"], r["rejections"]) for r in report.rows] == [
        ("not_ready", "Not ready to book yet / other: not_ready", 3),
    ]
    assert report.notes == [
        "reasons of playbook `retired-program` are read as undeclared: it cannot be loaded"
    ]


def test_a_simulated_rep_gives_only_codes_the_playbook_declares() -> None:
    rng = random.Random(3)
    drawn = {pick_reason(CLINIC.reasons, ReasonKind.LOSE, rng) for _ in range(200)}
    assert drawn <= set(CLINIC.reasons.codes(ReasonKind.LOSE)) - {"other"}
    assert len(drawn) > 2
    state = rng.getstate()
    fitting = ("insurance_not_accepted", "no_such_code")
    assert pick_reason(CLINIC.reasons, ReasonKind.DISQUALIFY, rng, fitting) == (
        "insurance_not_accepted"
    )
    assert rng.getstate() == state  # the only fitting code: nothing drawn
    b2b = pick_reason(B2B.reasons, ReasonKind.DISQUALIFY, rng, fitting)  # none fits: a draw
    assert b2b in B2B.reasons.codes(ReasonKind.DISQUALIFY)


def test_any_stored_value_reads_as_a_reason_and_a_blank_one_as_none() -> None:
    reader = _reader()
    assert reader.read(CLINIC.id, 42).label == "other: 42"
    assert reader.read(CLINIC.id, "   ").code == "(none)"
    assert reader.read(CLINIC.id, " NO-SHOW ").label == "Did not come to the appointment"
    assert reader.problems == []
