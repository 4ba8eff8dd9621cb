"""Candidate time zones for a lead: from its address, else from its phone number."""

from __future__ import annotations

from zoneinfo import available_timezones

import pytest

from leadflow.adapters.records.zones import (
    STATE_ZONES,
    candidate_zones,
    locate,
    state_for_zip,
    zones_for_lead,
)
from leadflow.domain.contact_rules import US_ZONES
from leadflow.domain.profile import LeadProfile

NY = "America/New_York"
CHICAGO = "America/Chicago"


def test_a_state_in_one_zone() -> None:
    assert candidate_zones(state="MA") == frozenset({NY})
    assert candidate_zones(state=" ma ", country="US") == frozenset({NY})


def test_a_state_spanning_zones_lists_them_all() -> None:
    assert candidate_zones(state="TN") == frozenset({NY, CHICAGO})
    assert candidate_zones(state="FL") == frozenset({NY, CHICAGO})


def test_a_zip_code_without_a_state() -> None:
    assert state_for_zip("02139-4307") == "MA"
    assert state_for_zip("96813") == "HI"
    assert state_for_zip("abc") is None
    assert candidate_zones(postal_code="02139") == frozenset({NY})
    # A state and a ZIP code that disagree: both states' zones.
    assert candidate_zones(state="MA", postal_code="60601") == frozenset({NY, CHICAGO})


def test_the_phone_number_when_there_is_no_address() -> None:
    assert candidate_zones(phone="+18085550123") == frozenset({"Pacific/Honolulu"})
    assert candidate_zones(phone="(808) 555-0123") == frozenset({"Pacific/Honolulu"})
    # The address wins over the phone number.
    assert candidate_zones(state="MA", phone="+18085550123") == frozenset({NY})


def test_outside_the_us_only_the_phone_counts() -> None:
    assert candidate_zones(state="CA", country="CA", phone="+14165550123") == frozenset(
        {"America/Toronto"}
    )


def test_unknown_is_empty() -> None:
    assert candidate_zones() == frozenset()
    assert candidate_zones(state="ZZ", postal_code="00000") == frozenset()
    assert candidate_zones(phone="+15555555555") == frozenset()  # not a valid number
    assert candidate_zones(phone="not a phone") == frozenset()
    assert zones_for_lead(LeadProfile(lead_id="L-1")) == frozenset()


def test_a_lead_profile() -> None:
    lead = LeadProfile(lead_id="L-1", phone="+18085550123", state="TX")
    assert zones_for_lead(lead) == frozenset({CHICAGO, "America/Denver"})


def test_every_state_zone_is_a_known_zone() -> None:
    known = available_timezones()
    for zones in STATE_ZONES.values():
        assert zones <= known
    assert known >= US_ZONES


@pytest.mark.parametrize("written", ["MA", "Massachusetts", "Mass.", " mass ", "ma"])
def test_a_state_spelled_out_gives_its_zones_as_the_code_does(written: str) -> None:
    assert candidate_zones(state=written) == frozenset({"America/New_York"})
    assert locate(LeadProfile("L-1", state=written)).state == "MA"


@pytest.mark.parametrize("country", ["US", "USA", "United States", "U.S."])
def test_a_us_country_spelled_out_keeps_the_address_zones(country: str) -> None:
    zones = candidate_zones(state="Illinois", country=country, phone="+16175550101")
    assert zones == frozenset({"America/Chicago"})  # the address, not the Boston phone


def test_a_state_nobody_knows_falls_back_to_the_zip_then_the_phone() -> None:
    assert candidate_zones(state="Atlantis", postal_code="02139") == frozenset({"America/New_York"})
    assert candidate_zones(state="Atlantis", phone="+13125550101") == frozenset({"America/Chicago"})
