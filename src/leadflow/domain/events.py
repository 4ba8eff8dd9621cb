"""Events: everything that happened to a lead, append-only, with typed properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

PropertyValue = str | int | float | bool | None


class EventType(StrEnum):
    """The canonical event types (the contract in PRODUCT.md)."""

    # engagement
    FORM_SUBMITTED = "form_submitted"
    PAGE_VIEWED = "page_viewed"
    CONTENT_DOWNLOADED = "content_downloaded"
    WEBINAR_REGISTERED = "webinar_registered"
    WEBINAR_ATTENDED = "webinar_attended"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    EMAIL_REPLIED = "email_replied"
    CALL_INBOUND = "call_inbound"
    CHAT_STARTED = "chat_started"
    CONSULTATION_REQUESTED = "consultation_requested"
    APPOINTMENT_REQUESTED = "appointment_requested"
    DEMO_REQUESTED = "demo_requested"
    PRICING_REQUESTED = "pricing_requested"
    REFERRAL_SUBMITTED = "referral_submitted"
    # consent
    CONSENT_GRANTED = "consent_granted"
    CONSENT_REVOKED = "consent_revoked"
    UNSUBSCRIBED = "unsubscribed"
    # profile
    PROFILE_UPDATED = "profile_updated"
    # sales and intake
    SALES_ACCEPTED = "sales_accepted"
    SALES_REJECTED = "sales_rejected"
    OUTREACH_LOGGED = "outreach_logged"
    DISCOVERY_COMPLETED = "discovery_completed"
    APPOINTMENT_SCHEDULED = "appointment_scheduled"
    DISQUALIFIED = "disqualified"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


ENGAGEMENT_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.FORM_SUBMITTED,
        EventType.PAGE_VIEWED,
        EventType.CONTENT_DOWNLOADED,
        EventType.WEBINAR_REGISTERED,
        EventType.WEBINAR_ATTENDED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_CLICKED,
        EventType.EMAIL_REPLIED,
        EventType.CALL_INBOUND,
        EventType.CHAT_STARTED,
        EventType.CONSULTATION_REQUESTED,
        EventType.APPOINTMENT_REQUESTED,
        EventType.DEMO_REQUESTED,
        EventType.PRICING_REQUESTED,
        EventType.REFERRAL_SUBMITTED,
    }
)
# Form captures: a person sent us their details through a form (the seeds' "form request,
# demo request, or relevant webinar registration"); what a playbook's confirmation may answer.
CAPTURE_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.FORM_SUBMITTED,
        EventType.CONSULTATION_REQUESTED,
        EventType.APPOINTMENT_REQUESTED,
        EventType.DEMO_REQUESTED,
        EventType.PRICING_REQUESTED,
        EventType.REFERRAL_SUBMITTED,
        EventType.WEBINAR_REGISTERED,
    }
)
CONSENT_TYPES: frozenset[EventType] = frozenset(
    {EventType.CONSENT_GRANTED, EventType.CONSENT_REVOKED, EventType.UNSUBSCRIBED}
)
SALES_TYPES: frozenset[EventType] = frozenset(
    {
        EventType.SALES_ACCEPTED,
        EventType.SALES_REJECTED,
        EventType.OUTREACH_LOGGED,
        EventType.DISCOVERY_COMPLETED,
        EventType.APPOINTMENT_SCHEDULED,
        EventType.DISQUALIFIED,
        EventType.CLOSED_WON,
        EventType.CLOSED_LOST,
    }
)


class PropertyKind(StrEnum):
    """The type a known event property must have."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class PropertySpec:
    """A known property of an event type."""

    name: str
    kind: PropertyKind
    description: str
    choices: frozenset[str] | None = None


CHANNELS: frozenset[str] = frozenset({"email", "sms", "phone"})

PAGE_CATEGORIES: frozenset[str] = frozenset(
    {
        "scheduling",
        "eligibility",
        "pricing",
        "service",
        "referral",
        "careers",
        "blog",
        "home",
        "integration",
        "implementation",
        "security",
        "contact",
        "about",
        "location",
        "education",
        "other",
    }
)

_T, _I, _B = PropertyKind.TEXT, PropertyKind.INTEGER, PropertyKind.BOOLEAN


def _spec(name: str, kind: PropertyKind, description: str) -> PropertySpec:
    return PropertySpec(name, kind, description)


_CHANNEL = PropertySpec("channel", _T, "email, sms or phone", CHANNELS)
_REASON = _spec(
    "reason", _T, "a reason code of the lead's playbook (`reasons`); case and spacing do not matter"
)

# Known properties per event type. Other properties are kept and may be matched by a
# playbook, but a known property must have the right type.
EVENT_PROPERTIES: dict[EventType, tuple[PropertySpec, ...]] = {
    EventType.FORM_SUBMITTED: (
        _spec("form", _T, "form name or id"),
        _spec("service_line", _T, "service line selected on the form"),
        _spec("url", _T, "page the form was on"),
    ),
    EventType.PAGE_VIEWED: (
        _spec("page_category", _T, "scheduling, eligibility, pricing, service, referral, ..."),
        _spec("url", _T, "page address; the playbook maps URL patterns to categories"),
        _spec("service_line", _T, "service line the page is about"),
    ),
    EventType.CONTENT_DOWNLOADED: (
        _spec("asset", _T, "what was downloaded"),
        _spec("topic", _T, "topic of the asset"),
    ),
    EventType.WEBINAR_REGISTERED: (_spec("webinar", _T, "webinar name"),),
    EventType.WEBINAR_ATTENDED: (
        _spec("webinar", _T, "webinar name"),
        _spec("topic", _T, "webinar topic"),
    ),
    EventType.EMAIL_OPENED: (_spec("campaign", _T, "email campaign"),),
    EventType.EMAIL_CLICKED: (
        _spec("campaign", _T, "email campaign"),
        _spec("url", _T, "link clicked"),
    ),
    EventType.EMAIL_REPLIED: (
        _spec("campaign", _T, "email campaign"),
        _spec("asked_question", _B, "the reply asks a follow-up question"),
    ),
    EventType.CALL_INBOUND: (_spec("duration_s", _I, "call length in seconds"),),
    EventType.CHAT_STARTED: (_spec("topic", _T, "chat topic"),),
    EventType.CONSULTATION_REQUESTED: (_spec("service_line", _T, "service line"),),
    EventType.APPOINTMENT_REQUESTED: (_spec("service_line", _T, "service line"),),
    EventType.DEMO_REQUESTED: (_spec("product", _T, "product"),),
    EventType.PRICING_REQUESTED: (_spec("product", _T, "product"),),
    EventType.REFERRAL_SUBMITTED: (_spec("specialty", _T, "specialty referred to"),),
    EventType.CONSENT_GRANTED: (
        _CHANNEL,
        _spec("contact_point", _T, "E.164 phone or normalised email"),
    ),
    EventType.CONSENT_REVOKED: (
        _CHANNEL,
        _spec("contact_point", _T, "E.164 phone or normalised email"),
    ),
    EventType.UNSUBSCRIBED: (_CHANNEL,),
    EventType.PROFILE_UPDATED: (),
    EventType.SALES_ACCEPTED: (_spec("owner", _T, "who accepted"),),
    EventType.SALES_REJECTED: (_REASON,),
    EventType.OUTREACH_LOGGED: (_CHANNEL,),
    EventType.DISCOVERY_COMPLETED: (
        _spec("need_confirmed", _B, "a current need tied to the offer is confirmed"),
        _spec("decision_path", _T, "who decides and how"),
        _spec("timeline", _T, "when the lead plans to act"),
        _spec("no_timeline_reason", _T, "why no timeline could be given"),
        _spec("eligibility_confirmed", _B, "eligibility, location and referral rules checked"),
        _spec("next_step", _T, "the agreed next step"),
    ),
    EventType.APPOINTMENT_SCHEDULED: (_spec("scheduled_for", _T, "appointment date-time"),),
    EventType.DISQUALIFIED: (_REASON,),
    EventType.CLOSED_WON: (),
    EventType.CLOSED_LOST: (_REASON,),
}

DISCOVERY_ANSWERS: tuple[str, ...] = tuple(
    s.name
    for s in EVENT_PROPERTIES[EventType.DISCOVERY_COMPLETED]
    if s.name != "no_timeline_reason"
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a lead. ``occurred_at`` is timezone-aware."""

    event_id: str
    lead_id: str
    type: EventType
    occurred_at: datetime
    properties: Mapping[str, PropertyValue] = field(default_factory=lambda: MappingProxyType({}))

    def prop(self, name: str) -> PropertyValue:
        """The property ``name`` or ``None``."""
        return self.properties.get(name)

    def sort_key(self) -> tuple[datetime, str, str]:
        """Total order used everywhere: time, then id, then type."""
        return (self.occurred_at, self.event_id, self.type.value)


def check_property(spec: PropertySpec, value: PropertyValue) -> str | None:
    """Why ``value`` is not acceptable for ``spec``, or ``None`` when it is."""
    if value is None:
        return None
    ok: bool
    match spec.kind:
        case PropertyKind.TEXT:
            ok = isinstance(value, str)
        case PropertyKind.BOOLEAN:
            ok = isinstance(value, bool)
        case PropertyKind.INTEGER:
            ok = isinstance(value, int) and not isinstance(value, bool)
        case PropertyKind.NUMBER:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        return f"expected {spec.kind.value}"
    if spec.choices is not None and isinstance(value, str) and value not in spec.choices:
        return "expected one of " + ", ".join(sorted(spec.choices))
    return None


def known_property(event_type: EventType, name: str) -> PropertySpec | None:
    """The spec of a known property of ``event_type``, if it has one by that name."""
    for spec in EVENT_PROPERTIES[event_type]:
        if spec.name == name:
            return spec
    return None
