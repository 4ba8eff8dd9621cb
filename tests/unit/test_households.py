"""Identity that respects households, on in-memory repositories: a shared phone never joins
two people, a weaker value never silently replaces a fuller one, and a merge can be undone
(the same behaviours over HTTP on both databases: ``tests/store/test_households.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.fakes.store import FakeDatabase

from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.events import Event, EventType
from leadflow.domain.identity import contradictions, names_agree, weaker
from leadflow.domain.playbook import Playbook
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.domain.profile import LeadProfile
from leadflow.errors import LeadNotFoundError, NotMergedError
from leadflow.services.store.intake import Context, LeadResult, record_events, upsert_lead
from leadflow.services.store.lifecycle import current_profile
from leadflow.services.store.ports import IdentityKey
from leadflow.services.store.unmerge import unmerge_lead

CLINIC = load_playbook("specialty-clinic")
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
PHONE = "+16175550142"


def _playbooks(name: str) -> Playbook:
    return CLINIC


def _ctx() -> Context:
    return Context("user:ana", "api", NOW, _playbooks, PlaybookChoice((), CLINIC.id))


def _post(db: FakeDatabase, **fields: Any) -> LeadResult:
    """Post a record; without ``lead_id`` one is made up, as the API does."""
    given = "lead_id" in fields
    fields.setdefault("lead_id", f"made-{db.units}")
    profile = LeadProfile(**{"lead_type": "patient", "state": "MA", **fields})
    result: LeadResult = db.run(lambda uow: upsert_lead(uow, profile, _ctx(), id_given=given))
    return result


def test_an_initial_agrees_with_the_name_it_abbreviates_and_a_different_name_does_not() -> None:
    assert names_agree("D", "Dana")
    assert names_agree("dana", "Dana ")
    assert not names_agree("Dan", "Dana")
    caregiver = LeadProfile("CG", first_name="Dana", email="dana@example.com")
    patient = LeadProfile("PT", first_name="Robin", email="robin@example.com")
    assert contradictions(caregiver, patient) == ["first_name", "email"]
    assert contradictions(caregiver, LeadProfile("X", phone=PHONE)) == []


def test_a_weaker_value_is_a_names_abbreviation_or_an_invalid_contact_point() -> None:
    assert weaker("first_name", "Dana", "D")
    assert not weaker("first_name", "Dana", "Danielle")
    assert not weaker("first_name", None, "D")
    assert weaker("email", "dana@example.com", "dana-at-example")
    assert not weaker("email", "dana@example.com", "dana@example.org")
    assert not weaker("service_line", "dermatology", "derm")


def test_a_caregiver_and_a_patient_sharing_a_phone_become_two_linked_leads() -> None:
    db = FakeDatabase()
    _post(db, lead_id="CG", first_name="Dana", email="dana@example.com", phone=PHONE)
    patient = _post(db, lead_id="PT", first_name="Robin", email="robin@example.com", phone=PHONE)
    assert patient.created is True
    assert patient.lead_id == "PT"
    assert patient.related == {"CG": "household"}
    leads = db.uow.leads
    assert [link.lead_id for link in leads.links_of("CG")] == ["PT"]
    assert [link.relation for link in leads.links_of("PT")] == ["household"]
    assert leads.identities[("phone", "", PHONE)] == "CG"  # the number stays with its owner
    assert leads.identities[("email", "", "robin@example.com")] == "PT"
    linked = [e for e in db.uow.audit.entries if e.action == "lead.linked"]
    assert [(e.entity_id, e.after) for e in linked] == [
        ("PT", {"lead_id": "CG", "relation": "household"})
    ]
    assert leads.get_lead("CG") is not None
    assert leads.leads["CG"].profile.first_name == "Dana"


def test_a_phone_only_record_matches_and_a_named_one_finds_its_own_household_member() -> None:
    db = FakeDatabase()
    _post(db, lead_id="CG", first_name="Dana", email="dana@example.com", phone=PHONE)
    _post(db, lead_id="PT", first_name="Robin", email="robin@example.com", phone=PHONE)
    robin = _post(db, first_name="Robin", phone=PHONE, notes="called back")
    assert (robin.lead_id, robin.created, robin.merged) == ("PT", False, [])
    anyone = _post(db, phone=PHONE, offer="guide")
    assert (anyone.lead_id, anyone.created, anyone.merged) == ("CG", False, [])
    third = _post(db, first_name="Sam", email="sam@example.com", phone=PHONE)
    assert third.created is True
    assert third.related == {"CG": "household"}


def test_email_and_external_id_still_match_whatever_the_name() -> None:
    db = FakeDatabase()
    _post(db, lead_id="CG", first_name="Dana", email="dana@example.com", phone=PHONE)
    again = _post(db, first_name="Danielle", email="DANA@example.com")
    assert (again.lead_id, again.created, again.changed_fields) == ("CG", False, ["first_name"])


def test_an_initial_does_not_overwrite_the_name_and_the_audit_says_it_was_kept() -> None:
    db = FakeDatabase()
    _post(db, lead_id="CG", first_name="Dana", email="dana@example.com", phone=PHONE)
    junk = _post(db, first_name="D", email="dana@example.com", service_line="dermatology")
    assert junk.kept_fields == ["first_name"]
    assert junk.changed_fields == ["service_line"]
    updated = [e for e in db.uow.audit.entries if e.action == "lead.updated"][-1]
    assert updated.after is not None
    assert updated.after["fields"] == ["service_line"]
    assert updated.after["kept"] == ["first_name"]
    event_id = updated.after["event_id"]
    event = next(e for e in db.uow.leads.events_of("CG") if e.event_id == event_id)
    assert dict(event.properties) == {"service_line": "dermatology"}  # values: in the event
    assert "Dana" not in str(updated.after)


def _merged(db: FakeDatabase) -> None:
    _post(db, lead_id="A", email="pat@example.org")
    _post(db, lead_id="B", phone="+16175550199", offer="guide")
    form = Event("b-1", "B", EventType.FORM_SUBMITTED, NOW, {})
    db.run(lambda uow: record_events(uow, [form], _ctx()))
    both = _post(db, email="pat@example.org", phone="+16175550199")
    assert both.merged == ["B"]


def test_a_merge_audits_the_fields_it_added_with_a_pointer_to_the_event() -> None:
    db = FakeDatabase()
    _merged(db)
    merged = next(e for e in db.uow.audit.entries if e.action == "lead.merged")
    assert merged.before == {"lead_id": "B"}
    assert merged.after is not None
    assert merged.after["added"] == ["offer", "phone"]
    assert merged.after["replaced"] == []
    assert merged.reason == "same phone"
    fill = next(e for e in db.uow.leads.events_of("A") if e.event_id == merged.after["event_id"])
    assert dict(fill.properties) == {"offer": "guide", "phone": "+16175550199"}


def test_unmerge_gives_back_the_merged_leads_events_identities_and_profile() -> None:
    db = FakeDatabase()
    _merged(db)
    done = db.run(lambda uow: unmerge_lead(uow, "B", _ctx()))
    assert (done.survivor, done.restored, done.cleared_fields) == ("A", "B", ["offer", "phone"])
    leads = db.uow.leads
    assert leads.get_lead("B") is not None
    assert [e.event_id for e in leads.events_of("B")] == ["b-1"]
    assert all(e.event_id != "b-1" for e in leads.events_of("A"))
    assert leads.leads_by_identity([IdentityKey("phone", "+16175550199")]) == ["B"]
    assert set(leads.decisions) >= {"A", "B"}
    profile_a = current_profile(leads.leads["A"], leads.events_of("A"))
    assert (profile_a.offer, profile_a.phone, profile_a.email) == (None, None, "pat@example.org")
    unmerged = [e for e in db.uow.audit.entries if e.action == "lead.unmerged"]
    assert [(e.entity_id, e.after) for e in unmerged] == [
        (
            "A",
            {
                "lead_id": "B",
                "cleared": ["offer", "phone"],
                "event_id": unmerged[0].after["event_id"],
            },
        )
    ]
    with pytest.raises(NotMergedError):
        db.run(lambda uow: unmerge_lead(uow, "B", _ctx()))
    with pytest.raises(LeadNotFoundError):
        db.run(lambda uow: unmerge_lead(uow, "nobody", _ctx()))
