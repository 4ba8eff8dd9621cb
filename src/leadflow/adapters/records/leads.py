"""Reading leads: a :class:`~leadflow.domain.profile.LeadProfile` per good row.

Canonical columns fill the profile, any other column is kept in ``custom`` (a ``custom.``
prefix is dropped); empty values are ``None``. ``created_at`` is ISO-8601 (a date alone is
midnight UTC, a time without offset is UTC); ``consent_*`` accept true/false, yes/no, y/n,
1/0 in any case. Emails are normalised by email-validator and phones to E.164 (default
region: ``country`` when it is a two-letter code, else US); an invalid one is dropped with
a :class:`RecordWarning` and the lead is kept. A row with a bad ``lead_id`` (missing or
repeated), ``created_at`` or consent value is rejected with a
:class:`~leadflow.errors.RecordProblem` per bad field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from leadflow.adapters.records.problems import FirstRows, RecordWarning, located
from leadflow.adapters.records.sources import open_records, parse_rows
from leadflow.adapters.records.values import (
    BOOLEAN_WORDS,
    normalise_email,
    normalise_phone,
    parse_bool,
    parse_datetime,
    phone_region,
    text_value,
)
from leadflow.domain.profile import CONSENT_FIELDS, TEXT_FIELDS, LeadProfile
from leadflow.errors import RecordProblem

LeadItem = LeadProfile | RecordProblem | RecordWarning

NUL_MESSAGE = "must not contain the NUL character (a database cannot store it)"
DATETIME_EXPECTED = "expected an ISO-8601 date-time (e.g. 2026-03-02T14:30:00Z)"
_TEXT = frozenset({"lead_id", *TEXT_FIELDS})
_CONSENT = frozenset(CONSENT_FIELDS)


def normalise_contact(fields: dict[str, Any], region: str) -> list[tuple[str, str]]:
    """Normalise ``email`` and ``phone`` in ``fields`` in place; ``(field, warning)`` pairs.

    An invalid value is removed: contact values warn, they never reject a row.
    """
    warnings: list[tuple[str, str]] = []
    if "email" in fields:
        email = normalise_email(str(fields.pop("email")))
        if email is None:
            warnings.append(("email", "not a valid email address; kept the row without it"))
        else:
            fields["email"] = email
    if "phone" in fields:
        phone = normalise_phone(str(fields.pop("phone")), region)
        if phone is None:
            why = f"not a valid phone number (default region {region}); kept the row without it"
            warnings.append(("phone", why))
        else:
            fields["phone"] = phone
    return warnings


class _LeadParser:
    """Parses rows of one file, remembering lead ids to reject duplicates."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lead_ids = FirstRows("lead id")

    def parse(self, row: int, record: Mapping[str, object]) -> list[LeadItem]:
        fields: dict[str, Any] = {}
        custom: dict[str, str] = {}
        bad: list[tuple[str, str]] = []
        for key, raw in record.items():
            value = raw.strip() if isinstance(raw, str) else text_value(raw)
            if not value:
                continue
            if "\x00" in value:
                bad.append((key, NUL_MESSAGE))
            elif key in _TEXT or key in _CONSENT or key == "created_at":
                _field(fields, key, value, bad)
            elif key:
                custom[key.removeprefix("custom.")] = value
        lead_id: str | None = fields.get("lead_id")
        why = self.lead_ids.problem(lead_id, row)
        if why is not None:
            bad.insert(0, ("lead_id", why))
        warned = normalise_contact(fields, phone_region(fields.get("country")))
        items: list[LeadItem] = []
        if bad or warned:
            items += located(self.source, row, lead_id, bad, warned)
        if not bad and lead_id is not None:
            items.append(LeadProfile(**fields, custom=MappingProxyType(custom)))
        return items


def _field(fields: dict[str, Any], key: str, value: str, bad: list[tuple[str, str]]) -> None:
    """A canonical field converted: text as it is, consent flags and the creation time
    parsed (a value that does not parse is reported)."""
    if key in _CONSENT:
        flag = parse_bool(value)
        if flag is None:
            bad.append((key, f"expected {BOOLEAN_WORDS}"))
        fields[key] = flag
    elif key == "created_at":
        fields[key] = parse_datetime(value)
        if fields[key] is None:
            bad.append((key, DATETIME_EXPECTED))
    else:
        fields[key] = value


def read_leads(path: str | Path, mapping: Mapping[str, str] | None = None) -> Iterator[LeadItem]:
    """Leads in file order, each preceded by its warnings; a bad row yields only problems.

    ``mapping`` renames source columns to canonical ones (see
    :mod:`leadflow.adapters.records.mapping`). Raises :class:`~leadflow.errors.InputFileError`
    at once if the file cannot be opened or lacks a ``lead_id`` column, and while iterating
    if a later line cannot be read.
    """
    file = open_records(path, mapping or {}, ("lead_id",))
    return parse_rows(file, _LeadParser(file.name).parse)


def parse_lead(record: Mapping[str, object], source: str, row: int = 1) -> list[LeadItem]:
    """One lead record (an API request body, say) parsed exactly as a file row would be."""
    return _LeadParser(source).parse(row, record)
