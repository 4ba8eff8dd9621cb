"""When time alone can change a decision: the instant the worker re-decides a lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType, PropertyValue
from leadflow.domain.next_change import HORIZON, RESOLUTION, next_change
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage

PLAYBOOK = load_playbook("specialty-clinic")
AS_OF = datetime(2026, 3, 6, 12, tzinfo=UTC)
LEAD = LeadProfile(
    lead_id="L-1",
    email="pat@example.com",
    service_line="dermatology",
    state="MA",
    consent_email=True,
)


def _event(event_id: str, kind: EventType, at: str, **props: PropertyValue) -> Event:
    when = datetime.fromisoformat(at)
    return Event(event_id, "L-1", kind, when, MappingProxyType(props))


ENGAGED = [
    _event("e1", EventType.FORM_SUBMITTED, "2026-03-05T10:00:00+00:00", service_line="dermatology"),
    _event("e2", EventType.CONTENT_DOWNLOADED, "2026-03-05T11:00:00+00:00"),
    _event("e3", EventType.PAGE_VIEWED, "2026-03-05T11:05:00+00:00", page_category="scheduling"),
]


def test_a_decaying_mql_changes_at_the_returned_instant_and_not_an_hour_before() -> None:
    decision = qualify(LEAD, ENGAGED, PLAYBOOK, AS_OF)
    assert decision.stage is Stage.MQL
    at = next_change(LEAD, ENGAGED, PLAYBOOK, decision, AS_OF)
    assert at is not None
    assert AS_OF < at < AS_OF + HORIZON
    later = qualify(LEAD, ENGAGED, PLAYBOOK, at)
    before = qualify(LEAD, ENGAGED, PLAYBOOK, at - RESOLUTION)
    assert (later.stage, later.band) != (decision.stage, decision.band)
    assert (before.stage, before.band) == (decision.stage, decision.band)


def test_an_mql_without_timeline_is_due_again_on_its_recheck_date() -> None:
    events = [
        ENGAGED[0],
        _event("s1", EventType.SALES_ACCEPTED, "2026-03-05T12:00:00+00:00"),
        _event(
            "s2",
            EventType.DISCOVERY_COMPLETED,
            "2026-03-05T12:30:00+00:00",
            need_confirmed=True,
            no_timeline_reason="waiting for insurance",
        ),
    ]
    decision = qualify(LEAD, events, PLAYBOOK, AS_OF)
    assert decision.status == "MQL – no timeline"
    recheck = datetime(2026, 3, 5, 12, 30, tzinfo=UTC) + timedelta(
        days=PLAYBOOK.sql.no_timeline_recheck_days
    )
    assert next_change(LEAD, events, PLAYBOOK, decision, AS_OF) == recheck


def test_a_steady_lead_is_looked_at_again_at_the_horizon_and_a_final_one_never() -> None:
    quiet = qualify(LEAD, [], PLAYBOOK, AS_OF)
    assert next_change(LEAD, [], PLAYBOOK, quiet, AS_OF) == AS_OF + HORIZON
    won = [
        *ENGAGED,
        _event("w1", EventType.SALES_ACCEPTED, "2026-03-05T12:00:00+00:00"),
        _event("w2", EventType.CLOSED_WON, "2026-03-06T09:00:00+00:00"),
    ]
    final = qualify(LEAD, won, PLAYBOOK, AS_OF)
    assert final.stage in {Stage.WON, Stage.LOST, Stage.DISQUALIFIED}
    assert next_change(LEAD, won, PLAYBOOK, final, AS_OF) is None
