"""The lead profile: canonical fields, custom fields, and derived facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class LeadType(StrEnum):
    """The three kinds of lead one engine serves."""

    PATIENT = "patient"
    REFERRAL_PARTNER = "referral_partner"
    B2B = "b2b"


# Canonical text fields of a lead record (the contract in PRODUCT.md), in order.
TEXT_FIELDS: tuple[str, ...] = (
    "lead_type",
    "playbook",
    "first_name",
    "last_name",
    "email",
    "phone",
    "organization",
    "role",
    "org_type",
    "service_line",
    "specialty",
    "postal_code",
    "state",
    "country",
    "source",
    "channel",
    "campaign",
    "offer",
    "notes",
)
CONSENT_FIELDS: tuple[str, ...] = ("consent_email", "consent_sms", "consent_phone")
LEAD_FIELDS: tuple[str, ...] = ("lead_id", *TEXT_FIELDS, "created_at", *CONSENT_FIELDS)
_LEAD_FIELD_SET = frozenset(LEAD_FIELDS)

# Facts derived from the profile and the consent events; playbooks may test them.
DERIVED_FIELDS: tuple[str, ...] = (
    "contact.valid_email",
    "contact.valid_phone",
    "contact.valid",
    "consent.email",
    "consent.sms",
    "consent.phone",
    "consent.any",
    # data-quality checks (domain/data_quality.py), on the profile as normalised
    "quality.disposable_email",
    "quality.zip_state_mismatch",
    "quality.junk_name",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(value: str | None) -> bool:
    """A syntactic check; adapters normalise with a real validator before this."""
    return bool(value) and _EMAIL.match(value or "") is not None


def looks_like_phone(value: str | None) -> bool:
    """At least ten digits (a North American number or an E.164 one)."""
    if not value:
        return False
    digits = sum(map(str.isdigit, value))
    return 10 <= digits <= 15


ProfileValue = str | bool | datetime | None


@dataclass(frozen=True, slots=True)
class LeadProfile:
    """What is known about a lead. Unknown input columns are kept in ``custom``."""

    lead_id: str
    lead_type: str | None = None
    playbook: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    organization: str | None = None
    role: str | None = None
    org_type: str | None = None
    service_line: str | None = None
    specialty: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None
    source: str | None = None
    channel: str | None = None
    campaign: str | None = None
    offer: str | None = None
    created_at: datetime | None = None
    consent_email: bool | None = None
    consent_sms: bool | None = None
    consent_phone: bool | None = None
    notes: str | None = None
    custom: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def value(self, name: str) -> ProfileValue:
        """A canonical field, or ``custom.NAME`` / a bare custom column name."""
        if name in _LEAD_FIELD_SET:
            raw: ProfileValue = getattr(self, name)
            return raw
        key = name.removeprefix("custom.")
        return self.custom.get(key)

    def with_updates(self, changes: Mapping[str, object]) -> LeadProfile:
        """A copy with ``changes`` applied (a ``profile_updated`` event's fields)."""
        canonical: dict[str, object] = {}
        custom = dict(self.custom)
        for name, new in changes.items():
            if name == "lead_id":
                continue
            if name in TEXT_FIELDS:
                canonical[name] = None if new is None or new == "" else str(new)
            elif name in CONSENT_FIELDS:
                canonical[name] = new if isinstance(new, bool) else None
            elif name != "created_at":
                key = name.removeprefix("custom.")
                if new is None or new == "":
                    custom.pop(key, None)
                else:
                    custom[key] = str(new)
        return replace(self, **canonical, custom=MappingProxyType(custom))  # type: ignore[arg-type]
