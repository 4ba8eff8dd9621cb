"""Parsing single input values: text, yes/no, date-times, emails and phone numbers.

Every parser returns ``None`` for a value it cannot use; callers turn that into a located
problem without ever quoting the value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email

BOOLEAN_WORDS = "true/false, yes/no, y/n or 1/0"
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def text_value(raw: object) -> str | None:
    """A cell as text: stripped, ``None`` when empty; JSON scalars and objects become text."""
    if isinstance(raw, str):
        return raw.strip() or None
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    return json.dumps(raw, separators=(",", ":"), sort_keys=True)


def parse_bool(value: str | bool) -> bool | None:
    """``True``/``False`` from true/false, yes/no, y/n, 1/0 (any case); ``None`` otherwise."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_datetime(value: str) -> datetime | None:
    """An ISO-8601 date-time; a date alone is midnight and a naive time is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def normalise_email(value: str) -> str | None:
    """The address normalised by email-validator (no DNS lookups), or ``None`` if invalid."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def phone_region(country: str | None) -> str:
    """The default region for phone numbers: a two-letter country code, else ``US``."""
    if country and len(country) == 2 and country.isalpha():
        return country.upper()
    return "US"


def normalise_phone(value: str, region: str) -> str | None:
    """The number in E.164 (``+16175550142``), or ``None`` if it is not a valid number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
