"""The send-time gate for messages: stop words, quiet hours and consent (COMPLIANCE.md).

Pure: the caller passes the time, the recipient's candidate time zones and the consent
history. ``docs/consent.md`` states these rules in prose; the tests prove them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# --- SMS replies -------------------------------------------------------------------------

STOP_KEYWORDS: tuple[str, ...] = (
    "stop",
    "quit",
    "end",
    "revoke",
    "opt out",
    "cancel",
    "unsubscribe",
)
_STOP_WORDS = frozenset(STOP_KEYWORDS)
# "opt out", "opt  out", "opt-out", "optout" (any whitespace and at most one dash between).
_OPT_OUT = re.compile(r"opt\s*[-\u2010\u2011\u2012\u2013\u2014]?\s*out")

SmsReply = Literal["stop", "other"]


def _strip_punctuation(text: str) -> str:
    """``text`` without whitespace and punctuation (Unicode category P*) at either end."""
    start, end = 0, len(text)
    while start < end and _edge(text[start]):
        start += 1
    while end > start and _edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def classify_sms_reply(text: str) -> SmsReply:
    """``"stop"`` when the whole reply is one stop keyword, else ``"other"``.

    Any case, any surrounding whitespace and punctuation (``"STOP."``, ``" Stop! "``,
    ``"(quit)"``) are ignored; ``opt out`` may have any whitespace or one dash between its
    words, or none. A keyword inside a longer reply (``"stop texting me"``) or a misspelling
    (``"stopp"``) is ``"other"``: flagged for review, and sending pauses until then.
    """
    core = _strip_punctuation(text.casefold())
    if " ".join(core.split()) in _STOP_WORDS or _OPT_OUT.fullmatch(core):
        return "stop"
    return "other"


# --- quiet hours -------------------------------------------------------------------------

Window = tuple[time, time]
DEFAULT_WINDOW: Window = (time(8, 0), time(21, 0))
# With no zone known the recipient may be anywhere in the US states, Hawaii to Eastern.
US_ZONES: frozenset[str] = frozenset(
    {
        "Pacific/Honolulu",
        "America/Adak",
        "America/Anchorage",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/Denver",
        "America/Chicago",
        "America/New_York",
    }
)


def window_for(
    state: str | None,
    state_windows: Mapping[str, Window] | None = None,
    default: Window = DEFAULT_WINDOW,
) -> Window:
    """The window for a recipient in ``state``: the default narrowed by the state's own.

    A state window only ever narrows the default (latest start, earliest end). With the
    state unknown, every configured state window narrows it (the most restrictive).
    """
    windows = state_windows or {}
    if state is None:
        narrowing: Iterable[Window] = windows.values()
    else:
        own = windows.get(state.strip().upper())
        narrowing = () if own is None else (own,)
    start, end = default
    for other_start, other_end in narrowing:
        start, end = max(start, other_start), min(end, other_end)
    return start, end


def _zones(names: frozenset[str] | None) -> list[ZoneInfo]:
    """The candidate zones; none known, or a name that is not a zone, adds every US zone."""
    wanted = set(names or ())
    if not wanted:
        wanted = set(US_ZONES)
    zones: dict[str, ZoneInfo] = {}
    for name in sorted(wanted):
        try:
            zones[name] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            for fallback in sorted(US_ZONES):
                zones[fallback] = ZoneInfo(fallback)
    return list(zones.values())


def _aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def quiet_hours_ok(
    channel: str,
    now: datetime,
    recipient_zones: frozenset[str] | None,
    window: Window = DEFAULT_WINDOW,
) -> bool:
    """Whether ``channel`` may reach the recipient at ``now`` (timezone-aware).

    Email has no quiet hours. Every other channel is allowed only when the local time is in
    ``[start, end)`` in *every* candidate zone; no zone known means every US zone.
    """
    _aware(now)
    if channel == "email":
        return True
    start, end = window
    for zone in _zones(recipient_zones):
        local = now.astimezone(zone).time().replace(tzinfo=None)
        if not start <= local < end:
            return False
    return True


# --- the gate ----------------------------------------------------------------------------

ALLOWED = "allowed"
NO_CONTACT_POINT = "no_contact_point"
NO_CONSENT = "no_consent"
REVOKED = "revoked"
PAUSED_FOR_REVIEW = "paused_for_review"
QUIET_HOURS = "quiet_hours"
# Reasons a later attempt cannot cure by waiting: the message is dropped, not retried.
FINAL_REASONS: frozenset[str] = frozenset({NO_CONTACT_POINT, NO_CONSENT, REVOKED})


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """One consent grant or revocation as the gate sees it."""

    channel: str
    contact_point: str | None
    status: str  # "granted" | "revoked"
    at: datetime


@dataclass(frozen=True, slots=True)
class SendDecision:
    """Whether a message may go now, and the first reason it may not."""

    allowed: bool
    reason: str


def consent_status(
    consents: Iterable[ConsentFact], channel: str, contact_point: str, now: datetime
) -> str | None:
    """The status of the newest record for exactly (``channel``, ``contact_point``) at or
    before ``now``; on a tie in time a revocation wins. ``None`` when there is none."""
    newest: ConsentFact | None = None
    for fact in consents:
        if fact.channel != channel or fact.contact_point != contact_point or fact.at > now:
            continue
        if (
            newest is None
            or fact.at > newest.at
            or (fact.at == newest.at and fact.status != "granted")
        ):
            newest = fact
    return None if newest is None else newest.status


def may_send(
    channel: str,
    contact_point: str | None,
    consents: Sequence[ConsentFact],
    now: datetime,
    *,
    zones: frozenset[str] | None,
    paused: bool,
    window: Window = DEFAULT_WINDOW,
) -> SendDecision:
    """The gate, checked at send time, in this order (the first failing check is the reason):

    ``no_contact_point`` (nothing to send to), ``no_consent`` / ``revoked`` (the newest record
    for this channel and this exact point at or before ``now`` is not a grant),
    ``paused_for_review`` (a free-text reply awaits review), ``quiet_hours``.
    """
    _aware(now)
    if not contact_point:
        return SendDecision(False, NO_CONTACT_POINT)
    status = consent_status(consents, channel, contact_point, now)
    if status != "granted":
        return SendDecision(False, REVOKED if status == "revoked" else NO_CONSENT)
    if paused:
        return SendDecision(False, PAUSED_FOR_REVIEW)
    if not quiet_hours_ok(channel, now, zones, window):
        return SendDecision(False, QUIET_HOURS)
    return SendDecision(True, ALLOWED)
