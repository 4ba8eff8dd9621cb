"""The clinical-text scanner: a person's details and clinical terms found offline and
replaced by markers; its recall and precision on the labelled sets in tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadflow.adapters.redaction.evaluate import evaluate, load_labelled
from leadflow.adapters.redaction.scanner import ClinicalScanner, default_scanner
from leadflow.domain.free_text import Marker, free_properties, is_free_profile_field
from leadflow.services.redaction import Identity

DATA = Path(__file__).resolve().parents[1] / "data" / "clinical_text"
DANA = Identity(("Dana", "Whitfield"), ("dana.w@example.com",), ("+16175550142",))


@pytest.fixture(scope="module")
def scanner() -> ClinicalScanner:
    return default_scanner()


def test_the_leads_own_name_email_and_phone_in_any_format_are_redacted(
    scanner: ClinicalScanner,
) -> None:
    for phone in (
        "(617) 555-0142",
        "617.555.0142",
        "6175550142",
        "+1 617 555 0142",
        "617 555 0142",
    ):
        assert (
            scanner.scan(f"call me at {phone} tonight", DANA).text == "call me at [phone] tonight"
        )
    text = "Dana Whitfield here (dana's mom), write to DANA.W@example.com"
    assert scanner.scan(text, DANA).text == "[name] here ([name] mom), write to [email]"


def test_other_peoples_numbers_and_addresses_are_redacted_too_but_not_their_names(
    scanner: ClinicalScanner,
) -> None:
    text = "my husband Tom is on 603-555-0199, tom@example.org"
    assert scanner.scan(text, DANA).text == "my husband Tom is on [phone], [email]"


def test_clinical_terms_become_category_markers(scanner: ClinicalScanner) -> None:
    scan = scanner.scan(
        "psoriasis for years, methotrexate did not help; next: knee replacement", Identity()
    )
    assert scan.text == "[condition] for years, [medication] did not help; next: [procedure]"
    assert scan.found == {Marker.CONDITION, Marker.MEDICATION, Marker.PROCEDURE}
    assert scan.clinical


def test_the_longest_phrase_wins_and_plurals_match(scanner: ClinicalScanner) -> None:
    assert scanner.scan("obstructive sleep apnea", Identity()).text == "[condition]"
    assert scanner.scan("on statins and blood thinners", Identity()).text == (
        "on [medication] and [medication]"
    )


def test_abbreviations_are_matched_as_written_so_pt_the_patient_is_not_pt_the_therapy(
    scanner: ClinicalScanner,
) -> None:
    assert scanner.scan("pt failed 6 wks PT", Identity()).text == "pt failed 6 wks [procedure]"
    assert scanner.scan("Ref: persistent AF, ? CAD", Identity()).text == (
        "Ref: persistent [condition], ? [condition]"
    )


def test_a_misspelt_clinical_word_is_found_but_an_english_word_near_one_is_not(
    scanner: ClinicalScanner,
) -> None:
    assert scanner.scan("metforman and albuteral", Identity()).text == (
        "[medication] and [medication]"
    )
    assert scanner.scan("I will cancel, the scores were in addition", Identity()).text == (
        "I will cancel, the scores were in addition"
    )


def test_idioms_and_service_words_stay_readable(scanner: ClinicalScanner) -> None:
    for text in (
        "our biggest pain point is the phone line",
        "no rash decision on the contract",
        "the cardiology department and the sleep medicine program",
        "is parking free at the clinic? what does a consult cost?",
        "EHR integration, HIPAA documentation and the patient portal",
    ):
        assert scanner.scan(text, Identity()).text == text


def test_free_text_is_any_property_that_is_not_structured() -> None:
    props = {"url": "/derm/psoriasis", "message": "itchy", "channel": "email", "count": 3}
    assert free_properties("form_submitted", props) == {
        "url": "/derm/psoriasis",
        "message": "itchy",
    }
    assert free_properties("profile_updated", {"notes": "x", "email": "a@b.c"}) == {"notes": "x"}
    assert is_free_profile_field("custom.Comments")
    assert not is_free_profile_field("service_line")


# The sets the vocabulary was tuned on keep recall of 0.95 or more; final.jsonl measured
# 0.874 before it was tuned on and 0.914 after (tests/data/clinical_text/README.md), and
# guards against a regression. unseen.jsonl, never tuned on, is measured by
# bench/redaction.py only (0.911 as shipped).
FLOORS = {"dev": 0.95, "heldout": 0.95, "test": 0.95, "final": 0.90}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_recall_of_clinical_terms_holds_on_each_labelled_set(
    scanner: ClinicalScanner, name: str
) -> None:
    records = load_labelled(DATA / f"{name}.jsonl")
    assert len(records) >= 100
    groups = evaluate(scanner, records)
    clinical, personal = groups["clinical"], groups["personal"]
    assert clinical.recall >= FLOORS[name], (clinical.recall, clinical.missed.most_common(20))
    assert clinical.precision >= 0.9, (clinical.precision, clinical.wrong.most_common(20))
    assert personal.recall == 1.0, personal.missed
