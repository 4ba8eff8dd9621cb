"""Engine behaviours that the seed scenarios do not reach."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from leadflow.adapters.playbook_yaml import load_playbook, load_playbook_text
from leadflow.domain.events import Event, EventType, PropertyValue
from leadflow.domain.profile import LeadProfile
from leadflow.domain.qualify import qualify
from leadflow.domain.stages import Stage
from leadflow.errors import LeadflowError

AS_OF = datetime(2026, 3, 4, 12, tzinfo=UTC)
LEAD = LeadProfile(
    lead_id="L-1",
    email="pat@example.com",
    service_line="cardiology",
    state="MA",
    consent_email=True,
)


def _event(event_id: str, kind: EventType, **props: PropertyValue) -> Event:
    return Event(event_id, "L-1", kind, datetime(2026, 3, 3, tzinfo=UTC), MappingProxyType(props))


def test_a_url_that_cannot_be_parsed_is_matched_as_written_and_does_not_stop_the_run() -> None:
    playbook = load_playbook("specialty-clinic")
    broken = _event("e1", EventType.PAGE_VIEWED, url="http://[oops/schedule")
    decision = qualify(LEAD, [broken], playbook, AS_OF)
    assert decision.stage is Stage.NURTURE
    assert "scheduling_page" not in [r.rule for r in decision.reasons]


def test_a_relative_scheduling_url_is_mapped_to_its_page_category() -> None:
    playbook = load_playbook("specialty-clinic")
    view = _event("e1", EventType.PAGE_VIEWED, url="/Schedule/Cardiology?utm=x")
    decision = qualify(LEAD, [view], playbook, AS_OF)
    assert "scheduling_page" in [r.rule for r in decision.reasons]


def test_a_naive_as_of_is_refused() -> None:
    playbook = load_playbook("specialty-clinic")
    with pytest.raises(LeadflowError, match="timezone-aware"):
        qualify(LEAD, [], playbook, datetime(2026, 3, 4))  # noqa: DTZ001


def test_a_lead_with_no_events_is_new_and_says_what_it_needs() -> None:
    playbook = load_playbook("specialty-clinic")
    decision = qualify(LEAD, [], playbook, AS_OF)
    assert decision.stage is Stage.NEW
    assert [b.rule for b in decision.blockers] == ["mql.intent"]
    assert decision.fit_score == 45
    assert decision.next_action == "Nurture only"


def test_duplicate_event_ids_count_once() -> None:
    playbook = load_playbook("specialty-clinic")
    view = _event("e1", EventType.PAGE_VIEWED, page_category="scheduling")
    once = qualify(LEAD, [view], playbook, AS_OF)
    twice = qualify(LEAD, [view, view], playbook, AS_OF)
    assert once.intent_score == twice.intent_score


PREDICTED_BANDS = """\
id: predicted-bands
name: Predicted bands
fit:
  - {id: any_state, label: Has a state, points: 10, when: {field: state, exists: true}}
stages:
  mql: {fit_at_least: 10, intent_at_least: 0}
  sql:
    requires:
      - {answer: need_confirmed, label: Need confirmed}
bands:
  - {name: hot, predicted_at_least: 0.7, next_action: Call now}
  - {name: rest, next_action: Nurture}
"""


@pytest.mark.parametrize(
    ("predicted", "band"),
    [("0.91", "hot"), ("0.7", "hot"), ("0.69", "rest"), ("not a number", "rest"), ("1.5", "rest")],
)
def test_a_band_can_require_a_predicted_conversion(predicted: str, band: str) -> None:
    playbook = load_playbook_text(PREDICTED_BANDS, "bands.yaml")
    lead = LeadProfile(
        lead_id="L-1",
        state="MA",
        custom=MappingProxyType(
            {"predicted_conversion": predicted, "predicted_conversion_factors": "for: x +0.2"}
        ),
    )
    decision = qualify(lead, [], playbook, AS_OF)
    assert decision.band == band
    shown = [r.label for r in decision.reasons if r.rule == "model.predicted_conversion"]
    valid = predicted in ("0.91", "0.7", "0.69")
    assert shown == (
        [f"Predicted conversion {float(predicted):.0%} (for: x +0.2)"] if valid else []
    )


def test_a_lead_without_a_prediction_never_meets_a_predicted_band() -> None:
    playbook = load_playbook_text(PREDICTED_BANDS, "bands.yaml")
    decision = qualify(LeadProfile(lead_id="L-1", state="MA"), [], playbook, AS_OF)
    assert decision.band == "rest"
    assert "model.predicted_conversion" not in [r.rule for r in decision.reasons]
