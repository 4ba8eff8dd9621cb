"""Candidate IANA time zones for a lead: from its address, else from its phone number.

Coarse on purpose: a state spanning zones lists all of them, and the gate
(``domain.contact_rules.quiet_hours_ok``) allows a call or text only when it is allowed in
every candidate zone. Unknown → an empty set (the gate then assumes every US zone).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as phone_timezone

from leadflow.adapters.records.values import phone_region
from leadflow.adapters.reference.tables import reference_data
from leadflow.domain.profile import LeadProfile
from leadflow.services.sending import Location

_E = "America/New_York"
_C = "America/Chicago"
_M = "America/Denver"
_P = "America/Los_Angeles"

# Two-letter USPS codes → the zones any part of the state keeps.
STATE_ZONES: dict[str, frozenset[str]] = {
    code: frozenset(zones)
    for code, zones in {
        "AL": (_C,),
        "AK": ("America/Anchorage", "America/Adak"),
        "AZ": ("America/Phoenix", _M),  # the Navajo Nation keeps daylight time
        "AR": (_C,),
        "CA": (_P,),
        "CO": (_M,),
        "CT": (_E,),
        "DE": (_E,),
        "DC": (_E,),
        "FL": (_E, _C),
        "GA": (_E,),
        "HI": ("Pacific/Honolulu",),
        "ID": ("America/Boise", _P),
        "IL": (_C,),
        "IN": ("America/Indiana/Indianapolis", _C),
        "IA": (_C,),
        "KS": (_C, _M),
        "KY": ("America/Kentucky/Louisville", _C),
        "LA": (_C,),
        "ME": (_E,),
        "MD": (_E,),
        "MA": (_E,),
        "MI": ("America/Detroit", "America/Menominee"),
        "MN": (_C,),
        "MS": (_C,),
        "MO": (_C,),
        "MT": (_M,),
        "NE": (_C, _M),
        "NV": (_P, _M),
        "NH": (_E,),
        "NJ": (_E,),
        "NM": (_M,),
        "NY": (_E,),
        "NC": (_E,),
        "ND": (_C, _M),
        "OH": (_E,),
        "OK": (_C,),
        "OR": (_P, "America/Boise"),
        "PA": (_E,),
        "RI": (_E,),
        "SC": (_E,),
        "SD": (_C, _M),
        "TN": (_E, _C),
        "TX": (_C, _M),
        "UT": (_M,),
        "VT": (_E,),
        "VA": (_E,),
        "WA": (_P,),
        "WV": (_E,),
        "WI": (_C,),
        "WY": (_M,),
        "PR": ("America/Puerto_Rico",),
        "VI": ("America/St_Thomas",),
        "GU": ("Pacific/Guam",),
        "MP": ("Pacific/Saipan",),
        "AS": ("Pacific/Pago_Pago",),
    }.items()
}

# First three ZIP digits (inclusive ranges) → state, for a lead with a ZIP code and no state.
# Coarse: a handful of single-office exceptions are ignored.
_ZIP3: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"),
    (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"), (50, 59, "VT"),
    (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"),
    (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"), (206, 219, "MD"),
    (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"),
    (300, 319, "GA"), (320, 339, "FL"), (341, 349, "FL"), (350, 369, "AL"),
    (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"),
    (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"),
    (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"),
    (660, 679, "KS"), (680, 693, "NE"), (700, 715, "LA"), (716, 729, "AR"),
    (730, 732, "OK"), (733, 733, "TX"), (734, 749, "OK"), (750, 799, "TX"),
    (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"),
    (900, 961, "CA"), (967, 968, "HI"), (970, 979, "OR"), (980, 994, "WA"),
    (995, 999, "AK"),
)  # fmt: skip

_US = frozenset({"US", "USA"})
_UNKNOWN_ZONE = "Etc/Unknown"


def state_for_zip(postal_code: str | None) -> str | None:
    """The state a US ZIP code (``02139`` or ``02139-4307``) belongs to, if known."""
    digits = (postal_code or "").strip()[:5]
    if len(digits) != 5 or not digits.isdigit():
        return None
    prefix = int(digits[:3])
    return next((state for low, high, state in _ZIP3 if low <= prefix <= high), None)


def zones_for_phone(phone: str | None, country: str | None = None) -> frozenset[str]:
    """The zones phonenumbers gives for a number (E.164, or national in ``country``)."""
    if not phone:
        return frozenset()
    try:
        number = phonenumbers.parse(phone, phone_region(country))
    except phonenumbers.NumberParseException:
        return frozenset()
    if not phonenumbers.is_valid_number(number):
        return frozenset()
    return frozenset(phone_timezone.time_zones_for_number(number)) - {_UNKNOWN_ZONE}


def candidate_zones(
    *,
    state: str | None = None,
    postal_code: str | None = None,
    phone: str | None = None,
    country: str | None = None,
) -> frozenset[str]:
    """Zones from the US address (state and ZIP together), else from the phone number.

    A state and a ZIP that disagree give both states' zones. Outside the US (``country``
    set and not ``US``) only the phone number counts. Unknown → empty.
    """
    zones: set[str] = set()
    if _in_us(country):
        for code in (state_code(state), state_for_zip(postal_code)):
            zones |= STATE_ZONES.get(code or "", frozenset())
    return frozenset(zones) if zones else zones_for_phone(phone, country)


def state_code(state: str | None) -> str | None:
    """The two-letter code of a state as written (``MA``, ``Massachusetts``, ``Mass.``):
    the same reading the rules get (``domain/normalise.py``), so the send-time gate never
    misses a lead's zone because of a spelling."""
    text = (state or "").strip()
    if not text:
        return None
    return text.upper() if text.upper() in STATE_ZONES else reference_data().state_code(text)


def _in_us(country: str | None) -> bool:
    if country is None or not country.strip():
        return True
    return country.strip().upper() in _US or reference_data().country_code(country) == "US"


def zones_for_lead(profile: LeadProfile) -> frozenset[str]:
    """:func:`candidate_zones` for a lead's profile."""
    return candidate_zones(
        state=profile.state,
        postal_code=profile.postal_code,
        phone=profile.phone,
        country=profile.country,
    )


def locate(profile: LeadProfile) -> Location:
    """Where a lead may be, for the send-time gate: its candidate zones, and its state as
    given or from its ZIP code."""
    return Location(
        zones_for_lead(profile), state_code(profile.state) or state_for_zip(profile.postal_code)
    )
