"""Unsubscribe tokens: signed over lead, channel, address and expiry; nothing personal in them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.domain.unsubscribe import (
    TOKEN_TTL,
    email_footer,
    one_click_headers,
    sign_unsubscribe,
    token_lead,
    unsubscribe_url,
    verify_unsubscribe,
)
from leadflow.errors import UnsubscribeTokenError

SECRET = b"k" * 32
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
EXPIRES = NOW + TOKEN_TTL
EMAIL = "dana.caregiver@example.com"


def _code(token: str, candidates: list[str], now: datetime = NOW, secret: bytes = SECRET) -> str:
    with pytest.raises(UnsubscribeTokenError) as failure:
        verify_unsubscribe(secret, token, candidates, now)
    return failure.value.code


def test_a_signed_token_verifies_for_the_address_it_was_made_for() -> None:
    token = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES)
    done = verify_unsubscribe(SECRET, token, ["old@example.com", EMAIL], NOW)
    assert (done.lead_id, done.channel, done.contact_point) == ("SC-001", "email", EMAIL)
    assert done.expires_at == EXPIRES
    assert token_lead(token) == "SC-001"


def test_the_token_carries_no_address_and_links_live_at_least_60_days() -> None:
    token = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert "dana" not in payload
    assert "example.com" not in payload
    assert timedelta(days=60) <= TOKEN_TTL


def test_the_address_is_matched_in_any_case() -> None:
    token = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES)
    assert verify_unsubscribe(SECRET, token, [EMAIL.upper()], NOW).contact_point == EMAIL.upper()


def test_another_address_lead_or_secret_does_not_verify() -> None:
    token = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES)
    assert _code(token, ["someone@example.com"]) == "bad_token"
    assert _code(token, []) == "bad_token"
    assert _code(token, [EMAIL], secret=b"z" * 32) == "bad_token"
    other = sign_unsubscribe(SECRET, "SC-002", "email", EMAIL, EXPIRES)
    forged = other.split(".")[0] + "." + token.split(".")[1]  # SC-002 with SC-001's MAC
    assert _code(forged, [EMAIL]) == "bad_token"


def test_an_edited_expiry_is_bad_and_a_genuine_old_token_is_expired() -> None:
    token = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES)
    later = sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, EXPIRES + timedelta(days=365))
    edited = later.split(".")[0] + "." + token.split(".")[1]
    assert _code(edited, [EMAIL]) == "bad_token"
    assert verify_unsubscribe(SECRET, token, [EMAIL], EXPIRES - timedelta(seconds=1))
    assert _code(token, [EMAIL], now=EXPIRES) == "expired"


@pytest.mark.parametrize(
    "token", ["", ".", "abc", "a.b.c", "!!!.###", "djE.AAAA", "x" * 2000, "djEKU0MKZW1haWwKeA.AA"]
)
def test_malformed_tokens_are_bad(token: str) -> None:
    assert _code(token, [EMAIL]) == "bad_token"


def test_a_short_secret_or_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        sign_unsubscribe(b"short", "SC-001", "email", EMAIL, EXPIRES)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_unsubscribe(SECRET, "SC-001", "email", EMAIL, datetime(2026, 5, 1))  # noqa: DTZ001


def test_the_url_footer_and_one_click_headers() -> None:
    url = unsubscribe_url("https://care.example/", "tok.en")
    assert url == "https://care.example/u/tok.en"
    assert email_footer(url).endswith(f"unsubscribe here: {url}\n")
    assert one_click_headers(url) == {
        "List-Unsubscribe": "<https://care.example/u/tok.en>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
