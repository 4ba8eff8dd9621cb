"""Which values of a lead are free text: what a person wrote, which may hold clinical details.

Free text is scanned when it arrives (names, emails, phones and clinical terms found and
replaced by markers such as ``[condition]``) and shown as written only to the roles whose
:class:`~leadflow.domain.access.LeadView` says so. Everything else — structured properties
such as a page's URL category, a campaign or a channel — is shown as stored.

The rule fails closed: an event property is free text unless it is one of the structured
properties below, so a form tool's own ``message``, ``comments`` or ``transcript`` field is
treated as free text without anyone listing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from leadflow.domain.events import EventType
from leadflow.domain.profile import TEXT_FIELDS


class Marker(StrEnum):
    """What a redacted span is replaced by (``[condition]`` …)."""

    CONDITION = "condition"
    MEDICATION = "medication"
    PROCEDURE = "procedure"
    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"

    @property
    def text(self) -> str:
        return f"[{self.value}]"


CLINICAL: frozenset[Marker] = frozenset({Marker.CONDITION, Marker.MEDICATION, Marker.PROCEDURE})

# Event properties that are structured data chosen from a list or set by a system, never
# typed by a person about their health. Any other text property is free text — including a
# page's ``url`` and a download's ``asset`` or ``topic``: "/derm/psoriasis" says what a
# person may have as plainly as a note does (the category and service line still show).
STRUCTURED_PROPERTIES: frozenset[str] = frozenset(
    {
        "page_category",
        "service_line",
        "campaign",
        "form",
        "product",
        "specialty",
        "channel",
        "contact_point",
        "owner",
        "scheduled_for",
        "method",
        "source",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    }
)

# Profile fields that are free text: the notes. Custom fields (a CRM export's own columns)
# are free text too: nobody knows what a column named ``Comments`` holds.
FREE_PROFILE_FIELDS: frozenset[str] = frozenset({"notes"})
_STRUCTURED_PROFILE = frozenset(TEXT_FIELDS) - FREE_PROFILE_FIELDS


def is_free_profile_field(name: str) -> bool:
    """Whether the profile field ``name`` (``notes``, ``custom.X`` or a bare custom
    column) is free text."""
    return name not in _STRUCTURED_PROFILE and name not in {
        "lead_id",
        "created_at",
        "consent_email",
        "consent_sms",
        "consent_phone",
    }


def is_free_property(event_type: str, name: str, value: object) -> bool:
    """Whether the property ``name`` of an event of ``event_type`` is free text."""
    if not isinstance(value, str):
        return False
    if event_type == EventType.PROFILE_UPDATED.value:
        return is_free_profile_field(name)
    return name not in STRUCTURED_PROPERTIES


def free_properties(event_type: str, properties: Mapping[str, object]) -> dict[str, str]:
    """The free-text properties of an event, by name."""
    return {
        name: value
        for name, value in properties.items()
        if isinstance(value, str) and is_free_property(event_type, name, value)
    }
