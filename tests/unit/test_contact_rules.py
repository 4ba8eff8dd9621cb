"""The send-time gate: stop words, quiet hours, consent per channel and exact point."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadflow.domain.contact_rules import (
    DEFAULT_WINDOW,
    STOP_KEYWORDS,
    ConsentFact,
    SendDecision,
    classify_sms_reply,
    may_send,
    quiet_hours_ok,
    window_for,
)

NY = ZoneInfo("America/New_York")
PHONE = "+16175550142"
NEW_PHONE = "+16175550199"


def _at(zone: ZoneInfo, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, 15, hour, minute, tzinfo=zone)


# --- stop words ----------------------------------------------------------------------


def _variants(word: str) -> list[str]:
    return [
        word,
        word.upper(),
        word.title(),
        "".join(c.upper() if i % 2 else c for i, c in enumerate(word)),
        f"  {word}  ",
        f"\t{word.upper()}\n",
        f"{word}.",
        f"{word.upper()}!",
        f" {word}?! ",
    ]


@pytest.mark.parametrize("keyword", STOP_KEYWORDS)
def test_every_stop_keyword_in_any_case_and_spacing_revokes(keyword: str) -> None:
    for reply in _variants(keyword):
        assert classify_sms_reply(reply) == "stop", repr(reply)


@pytest.mark.parametrize("reply", ["opt   out", "Opt\tOut", "OPT\n out", "opt-out", "OptOut"])
def test_opt_out_with_any_inner_whitespace_revokes(reply: str) -> None:
    assert classify_sms_reply(reply) == "stop"


@pytest.mark.parametrize(
    "reply",
    [
        "stopp",
        "please call me",
        "stop texting me",
        "don't stop",
        "",
        "   ",
        "?",
        "op tout",
        "s top",
    ],
)
def test_anything_else_is_other(reply: str) -> None:
    assert classify_sms_reply(reply) == "other"


# --- quiet hours ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["America/New_York", "America/Los_Angeles"])
@pytest.mark.parametrize(
    ("hour", "minute", "allowed"), [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)]
)
@pytest.mark.parametrize("channel", ["sms", "phone"])
def test_calls_and_texts_only_from_8_to_21_local(
    name: str, hour: int, minute: int, allowed: bool, channel: str
) -> None:
    now = _at(ZoneInfo(name), hour, minute).astimezone(UTC)
    assert quiet_hours_ok(channel, now, frozenset({name})) is allowed


def test_email_has_no_quiet_hours() -> None:
    for hour in range(24):
        now = _at(NY, hour)
        assert quiet_hours_ok("email", now, frozenset({"America/New_York"}))
        assert quiet_hours_ok("email", now, None)


def test_unknown_zones_mean_every_us_zone() -> None:
    morning = _at(NY, 8, 30)  # 05:30 in Los Angeles
    assert quiet_hours_ok("sms", morning, frozenset({"America/New_York"}))
    assert not quiet_hours_ok("sms", morning, None)
    assert not quiet_hours_ok("sms", morning, frozenset())
    assert not quiet_hours_ok("sms", morning, frozenset({"Not/A_Zone"}))
    # 14:00 in Honolulu (UTC-10) is 20:00 in New York: allowed everywhere from Hawaii east.
    assert quiet_hours_ok("sms", _at(ZoneInfo("Pacific/Honolulu"), 14), None)


def test_several_candidate_zones_must_all_allow() -> None:
    both = frozenset({"America/New_York", "America/Chicago"})
    assert not quiet_hours_ok("phone", _at(NY, 8, 30), both)  # 07:30 in Chicago
    assert quiet_hours_ok("phone", _at(NY, 9), both)
    assert not quiet_hours_ok("phone", _at(NY, 21, 30), both)


def test_a_state_window_only_narrows_the_default() -> None:
    windows = {"XX": (time(9), time(20)), "YY": (time(7), time(22))}
    assert window_for("xx", windows) == (time(9), time(20))
    assert window_for("YY", windows) == DEFAULT_WINDOW
    assert window_for("MA", windows) == DEFAULT_WINDOW
    assert window_for(None, windows) == (time(9), time(20))  # unknown state: the strictest
    ny = frozenset({"America/New_York"})
    strict = window_for("XX", windows)
    assert quiet_hours_ok("sms", _at(NY, 8, 30), ny)
    assert not quiet_hours_ok("sms", _at(NY, 8, 30), ny, strict)
    assert quiet_hours_ok("sms", _at(NY, 9), ny, strict)
    assert not quiet_hours_ok("sms", _at(NY, 20), ny, strict)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        quiet_hours_ok("sms", datetime(2026, 7, 15, 12), None)  # noqa: DTZ001


# --- the gate ------------------------------------------------------------------------

NOON = _at(NY, 12)
NYZ = frozenset({"America/New_York"})


def _grant(point: str, at: datetime, channel: str = "sms") -> ConsentFact:
    return ConsentFact(channel, point, "granted", at)


def _revoke(point: str, at: datetime, channel: str = "sms") -> ConsentFact:
    return ConsentFact(channel, point, "revoked", at)


def _gate(
    consents: list[ConsentFact],
    *,
    point: str | None = PHONE,
    channel: str = "sms",
    now: datetime = NOON,
    paused: bool = False,
) -> SendDecision:
    return may_send(channel, point, consents, now, zones=NYZ, paused=paused)


def test_a_grant_for_the_channel_and_point_allows() -> None:
    assert _gate([_grant(PHONE, NOON - timedelta(days=1))]) == SendDecision(True, "allowed")


def test_reasons() -> None:
    hour = timedelta(hours=1)
    granted = [_grant(PHONE, NOON - hour)]
    assert _gate(granted, point=None).reason == "no_contact_point"
    assert _gate([]).reason == "no_consent"
    assert _gate([*granted, _revoke(PHONE, NOON - hour / 2)]).reason == "revoked"
    assert _gate(granted, paused=True).reason == "paused_for_review"
    assert _gate(granted, now=_at(NY, 22)).reason == "quiet_hours"
    assert not _gate([_grant(PHONE, NOON + hour)]).allowed  # a future grant does not count


def test_consent_follows_the_exact_point_and_channel() -> None:
    old = [_grant(PHONE, NOON - timedelta(days=1))]
    assert _gate(old, point=NEW_PHONE).reason == "no_consent"
    assert _gate(old, channel="phone").reason == "no_consent"
    assert _gate(old, channel="email", point="pat@example.com").reason == "no_consent"


def test_the_newest_record_wins_whatever_the_order_and_revocation_wins_ties() -> None:
    day = timedelta(days=1)
    regranted = [_grant(PHONE, NOON - day), _revoke(PHONE, NOON - 2 * day)]
    assert _gate(regranted).allowed
    tie = NOON - day
    assert _gate([_grant(PHONE, tie), _revoke(PHONE, tie)]).reason == "revoked"
    assert _gate([_revoke(PHONE, tie), _grant(PHONE, tie)]).reason == "revoked"
