"""The demo world: Northwind Health's channels, campaigns and offers with a known latent
quality, and the leads they bring, each with a latent propensity and planned engagement.

Pure and deterministic: everything comes from one ``random.Random(seed)``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from leadflow.domain.events import EventType, PropertyValue
from leadflow.domain.profile import LeadProfile
from leadflow.services.demo.notes import demo_note

DAYS = 365
PLAYBOOK_SHARES: tuple[tuple[str, str, float], ...] = (
    ("specialty-clinic", "patient", 0.60),
    ("respiratory-program", "patient", 0.10),
    ("referral-partner", "referral_partner", 0.15),
    ("healthtech-b2b", "b2b", 0.15),
)
SERVICE_LINES = ("cardiology", "dermatology", "orthopedics", "pulmonology", "sleep_medicine")
STATES = (
    ("MA", ("02139", "01608", "02451", "02114")),
    ("NH", ("03101", "03801")),
    ("RI", ("02903", "02840")),
)
OUT_OF_AREA = (("NY", "10001"), ("CT", "06103"), ("VT", "05401"), ("ME", "04101"))
FIRST = ("Avery", "Morgan", "Riley", "Quinn", "Dana", "Sam", "Taylor", "Jordan", "Casey", "Drew")
LAST = ("Sample", "Example", "Test", "Fictive", "Placeholder", "Mock", "Demo", "Specimen")


@dataclass(frozen=True)
class Channel:
    """A channel: its latent quality (drives the true propensity), how hard its leads engage
    (drives MQL volume) and its share of new leads."""

    name: str
    source: str
    quality: float
    engagement: float
    share: float


# The designed contrast: paid search brings many, busy, low-propensity leads (many MQLs,
# few SQLs); referral brings few, quieter, high-propensity leads (few MQLs, most become SQL).
CHANNELS: tuple[Channel, ...] = (
    Channel("referral", "referral", 0.85, 0.75, 0.07),
    Channel("call", "phone", 0.70, 0.95, 0.10),
    Channel("web_form", "website", 0.55, 1.00, 0.18),
    Channel("webinar", "events", 0.50, 0.95, 0.10),
    Channel("organic", "search", 0.40, 1.10, 0.15),
    Channel("paid_search", "google_ads", 0.18, 1.45, 0.30),
    Channel("outbound", "sales_outreach", 0.15, 0.90, 0.10),
)


@dataclass(frozen=True)
class Campaign:
    """A campaign (optionally tied to one playbook) and its latent quality."""

    name: str
    quality: float
    playbooks: tuple[str, ...]


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("spring-mobility", 0.65, ("specialty-clinic",)),
    Campaign("better-sleep", 0.60, ("specialty-clinic", "respiratory-program")),
    Campaign("heart-month", 0.55, ("specialty-clinic",)),
    Campaign("skin-check-promo", 0.25, ("specialty-clinic",)),
    Campaign("winter-breathing", 0.70, ("respiratory-program",)),
    Campaign("provider-pathways", 0.75, ("referral-partner", "respiratory-program")),
    Campaign("ehr-integration-webinar", 0.60, ("healthtech-b2b",)),
    Campaign("cold-list-q3", 0.15, ("healthtech-b2b", "referral-partner")),
    Campaign("brand-awareness", 0.30, ("specialty-clinic", "healthtech-b2b", "referral-partner")),
)


@dataclass(frozen=True)
class Offer:
    """What a lead responded to, and its latent quality."""

    name: str
    quality: float
    playbooks: tuple[str, ...]


OFFERS: tuple[Offer, ...] = (
    Offer("free_consultation", 0.65, ("specialty-clinic", "respiratory-program")),
    Offer("patient_guide", 0.40, ("specialty-clinic", "respiratory-program")),
    Offer("symptom_quiz", 0.20, ("specialty-clinic",)),
    Offer("referral_guidelines", 0.70, ("referral-partner",)),
    Offer("cme_webinar", 0.45, ("referral-partner", "respiratory-program")),
    Offer("scheduling", 0.60, ("healthtech-b2b",)),
    Offer("revenue_cycle", 0.55, ("healthtech-b2b",)),
    Offer("patient_engagement", 0.45, ("healthtech-b2b",)),
    Offer("industry_report", 0.20, ("healthtech-b2b",)),
)

Props = dict[str, PropertyValue]


@dataclass(frozen=True)
class Touch:
    """Engagement planned ``offset`` after the lead was created (one session)."""

    offset: timedelta
    events: tuple[tuple[EventType, Props], ...]


@dataclass(frozen=True)
class DemoLead:
    """One simulated lead: its profile, latent truth and planned engagement."""

    index: int
    profile: LeadProfile
    playbook: str
    channel: str
    campaign: str
    offer: str
    propensity: float
    hard_stop: str | None  # designed failure: out_of_area, careers_only, wrong_org_type
    touches: tuple[Touch, ...] = field(default=())

    @property
    def lead_id(self) -> str:
        return self.profile.lead_id


def lead_id(index: int) -> str:
    return f"demo-L{index:06d}"


def _pick(rng: random.Random, items: tuple[Channel, ...]) -> Channel:
    return rng.choices(items, weights=[c.share for c in items])[0]


def _channel_for(rng: random.Random, playbook: str) -> Channel:
    allowed = {
        "specialty-clinic": ("web_form", "call", "paid_search", "organic", "referral"),
        "respiratory-program": (
            "web_form",
            "call",
            "webinar",
            "paid_search",
            "organic",
            "referral",
        ),
        "referral-partner": ("webinar", "referral", "outbound", "organic", "paid_search", "call"),
        "healthtech-b2b": ("webinar", "paid_search", "organic", "outbound", "web_form", "referral"),
    }[playbook]
    return _pick(rng, tuple(c for c in CHANNELS if c.name in allowed))


def _profile(
    rng: random.Random,
    *,
    index: int,
    playbook: str,
    lead_type: str,
    channel: Channel,
    campaign: Campaign,
    offer: Offer,
    hard_stop: str | None,
    created: datetime,
) -> LeadProfile:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    state, zips = rng.choice(STATES)
    postal = rng.choice(zips)
    country = "US"
    if hard_stop == "out_of_area":
        state, postal = rng.choice(OUT_OF_AREA)
    org_type = role = specialty = organization = None
    service_line: str | None = rng.choice(SERVICE_LINES)
    if playbook == "respiratory-program":
        service_line = rng.choice(("pulmonology", "pulmonology", "sleep_medicine"))
    if lead_type == "referral_partner":
        org_type = (
            "payer"
            if hard_stop == "wrong_org_type"
            else rng.choice(("practice", "clinic", "fqhc", "health_system"))
        )
        role = rng.choice(
            ("physician", "practice_manager", "referral_coordinator", "nurse_practitioner")
        )
        specialty = rng.choice(
            ("primary_care", "family_medicine", "internal_medicine", "pediatrics", "urgent_care")
        )
        organization = f"{last} Family Practice {index}"
        service_line = None if playbook == "referral-partner" else service_line
    elif lead_type == "b2b":
        org_type = (
            rng.choice(("vendor", "student", "agency"))
            if hard_stop == "wrong_org_type"
            else rng.choice(("clinic", "practice", "medical_group", "health_system", "hospital"))
        )
        role = rng.choice(
            (
                "practice_administrator",
                "it_director",
                "cio",
                "operations_manager",
                "billing_manager",
                "clinical_director",
                "marketing_coordinator",
            )
        )
        organization = f"{last} Health {index}"
        service_line = None
        if hard_stop != "out_of_area":
            state, postal = rng.choice(
                (
                    ("TX", "73301"),
                    ("CA", "94105"),
                    ("OH", "43004"),
                    ("MA", "02139"),
                    ("FL", "33101"),
                )
            )
        else:
            state, postal, country = "ON", "M5V", "CA"
    else:
        role = rng.choice(("patient", "patient", "caregiver"))
    no_contact = rng.random() < 0.02 and hard_stop is None
    consent_email = rng.random() < 0.9
    consent_phone = rng.random() < (0.75 if channel.name == "call" else 0.45)
    email = None if no_contact else f"{first}.{last}.{index}@example.com".lower()
    phone = None if no_contact or rng.random() < 0.15 else f"+1617555{index % 10000:04d}"
    return LeadProfile(
        lead_id=lead_id(index),
        lead_type=lead_type,
        playbook=playbook,
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        organization=organization,
        role=role,
        org_type=org_type,
        service_line=service_line,
        specialty=specialty,
        postal_code=postal,
        state=state,
        country=country,
        source=channel.source,
        channel=channel.name,
        campaign=campaign.name,
        offer=offer.name,
        created_at=created,
        consent_email=False if no_contact else consent_email,
        consent_sms=False if no_contact else consent_phone and rng.random() < 0.5,
        consent_phone=False if no_contact else consent_phone,
    )


def _page(category: str, url: str) -> tuple[EventType, Props]:
    return (EventType.PAGE_VIEWED, {"url": url, "page_category": category})


def _first_touch(
    rng: random.Random, lead: LeadProfile, playbook: str, channel: str
) -> list[tuple[EventType, Props]]:
    sl = lead.service_line or "cardiology"
    if channel == "call":
        return [(EventType.CALL_INBOUND, {"duration_s": rng.randint(40, 900)})]
    if channel == "web_form":
        return [
            (
                EventType.FORM_SUBMITTED,
                {"form": "request-info", "service_line": sl, "url": "/contact"},
            )
        ]
    if channel == "webinar":
        name = {
            "healthtech-b2b": "EHR integration in 30 days",
            "referral-partner": "Referral pathways 101",
        }.get(playbook, "Living well with COPD")
        events: list[tuple[EventType, Props]] = [(EventType.WEBINAR_REGISTERED, {"webinar": name})]
        if rng.random() < 0.6:
            events.append((EventType.WEBINAR_ATTENDED, {"webinar": name, "topic": sl}))
        return events
    if channel == "referral":
        if playbook == "referral-partner":
            return [
                (EventType.REFERRAL_SUBMITTED, {"specialty": sl}),
                _page("referral", "/referrals"),
            ]
        return [
            (
                EventType.FORM_SUBMITTED,
                {"form": "referral-intake", "service_line": sl, "url": "/referrals"},
            )
        ]
    if channel == "outbound":
        return [
            (EventType.EMAIL_OPENED, {"campaign": lead.campaign}),
            (EventType.EMAIL_CLICKED, {"campaign": lead.campaign, "url": "/blog/outbound"}),
        ]
    if channel == "paid_search":
        url = {
            "healthtech-b2b": ("pricing", "/pricing"),
            "referral-partner": ("referral", "/for-providers"),
        }.get(playbook, ("scheduling", f"/schedule/{sl}"))
        return [_page(url[0], url[1]), _page(url[0], url[1])]
    return [_page("blog", f"/blog/{sl}-tips")]


def _menu(playbook: str, sl: str) -> list[tuple[float, EventType, Props]]:
    """Engagement a lead may show later: (weight, type, properties); the first half low intent."""
    page = _page
    if playbook == "healthtech-b2b":
        return [
            (3, *page("blog", "/blog/patient-no-shows")),
            (3, *page("service", "/product/scheduling")),
            (2, *page("integration", "/integrations/epic")),
            (1, *page("security", "/security")),
            (2, *page("pricing", "/pricing")),
            (
                2,
                EventType.CONTENT_DOWNLOADED,
                {"asset": "Implementation guide", "topic": "implementation"},
            ),
            (2, EventType.EMAIL_OPENED, {"campaign": "b2b-nurture"}),
            (1, EventType.EMAIL_CLICKED, {"campaign": "b2b-nurture"}),
            (1, EventType.WEBINAR_REGISTERED, {"webinar": "EHR integration in 30 days"}),
            (0.6, EventType.DEMO_REQUESTED, {"product": "scheduling"}),
            (0.4, EventType.PRICING_REQUESTED, {"product": "scheduling"}),
        ]
    if playbook == "referral-partner":
        return [
            (3, *page("referral", "/referrals/how-to-refer")),
            (2, *page("service", f"/services/{sl}")),
            (2, EventType.EMAIL_CLICKED, {"campaign": "provider-newsletter"}),
            (1, *page("blog", "/blog/provider-news")),
            (1, EventType.WEBINAR_REGISTERED, {"webinar": "Referral pathways 101"}),
            (
                0.6,
                EventType.WEBINAR_ATTENDED,
                {"webinar": "Referral pathways 101", "topic": "referrals"},
            ),
            (
                0.6,
                EventType.EMAIL_REPLIED,
                {"campaign": "provider-newsletter", "asked_question": True},
            ),
            (0.5, EventType.FORM_SUBMITTED, {"form": "referral-pathway", "url": "/for-providers"}),
            (0.4, EventType.CALL_INBOUND, {"duration_s": 240}),
            (0.3, EventType.REFERRAL_SUBMITTED, {"specialty": sl}),
        ]
    if playbook == "respiratory-program":
        return [
            (3, *page("service", "/respiratory/pulmonary-rehab")),
            (2, *page("education", "/videos/breathing-exercises")),
            (2, *page("eligibility", "/eligibility")),
            (2, EventType.EMAIL_OPENED, {"campaign": "respiratory-nurture"}),
            (2, EventType.CONTENT_DOWNLOADED, {"asset": "COPD action plan", "topic": "copd"}),
            (1, EventType.EMAIL_CLICKED, {"campaign": "respiratory-nurture"}),
            (1, *page("blog", "/blog/asthma")),
            (0.5, EventType.FORM_SUBMITTED, {"form": "program-info", "service_line": sl}),
            (0.5, EventType.CONSULTATION_REQUESTED, {"service_line": sl}),
        ]
    return [
        (3, *page("blog", f"/blog/{sl}-tips")),
        (2, *page("home", "/")),
        (3, *page("service", f"/services/{sl}")),
        (2, *page("location", "/locations/cambridge")),
        (2, *page("eligibility", "/insurance")),
        (2, *page("scheduling", f"/schedule/{sl}")),
        (1, EventType.CONTENT_DOWNLOADED, {"asset": f"{sl} patient guide", "topic": sl}),
        (1, EventType.EMAIL_OPENED, {"campaign": "patient-education"}),
        (0.7, EventType.EMAIL_CLICKED, {"campaign": "patient-education"}),
        (0.4, EventType.CHAT_STARTED, {"topic": sl}),
        (0.5, EventType.FORM_SUBMITTED, {"form": "request-info", "service_line": sl}),
        (0.5, EventType.APPOINTMENT_REQUESTED, {"service_line": sl}),
    ]


def _touches(
    rng: random.Random,
    *,
    lead: LeadProfile,
    playbook: str,
    channel: Channel,
    propensity: float,
    hard_stop: str | None,
) -> tuple[Touch, ...]:
    if hard_stop == "careers_only":
        views = [_page("careers", "/careers/nursing") for _ in range(rng.randint(2, 4))]
        return (
            Touch(timedelta(0), tuple(views)),
            Touch(timedelta(days=rng.uniform(1, 20)), (_page("careers", "/jobs/open-roles"),)),
        )
    intensity = channel.engagement * rng.uniform(0.6, 1.4) * (0.7 + 0.6 * propensity)
    touches = [Touch(timedelta(0), tuple(_first_touch(rng, lead, playbook, channel.name)))]
    menu = _menu(playbook, lead.service_line or "cardiology")
    weights = [w for w, _, _ in menu]
    sessions = min(9, int(rng.expovariate(1.0) * 2.5 * intensity))
    offset = timedelta(0)
    for _ in range(sessions):
        offset += timedelta(hours=rng.expovariate(1 / (24 * 6 / max(intensity, 0.3))))
        count = 1 + int(rng.random() * 2.5 * intensity)
        picked = rng.choices(menu, weights=weights, k=count)
        touches.append(Touch(offset, tuple((kind, dict(props)) for _, kind, props in picked)))
    if rng.random() < 0.05 and lead.email:
        offset += timedelta(days=rng.uniform(2, 60))
        touches.append(Touch(offset, ((EventType.UNSUBSCRIBED, {"channel": "email"}),)))
    return tuple(touches)


def _stop(rng: random.Random, lead_type: str) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return "out_of_area"
    if lead_type == "patient" and roll < 0.09:
        return "careers_only"
    if lead_type != "patient" and roll < 0.10:
        return "wrong_org_type"
    return None


def plan_leads(count: int, seed: int, end: datetime) -> list[DemoLead]:
    """``count`` leads created over the 365 days before ``end``, in creation order."""
    rng = random.Random(seed)  # noqa: S311 (a simulation, not cryptography)
    notes = random.Random(f"notes-{seed}")  # noqa: S311 (its own stream: nothing else moves)
    start = end - timedelta(days=DAYS)
    leads: list[DemoLead] = []
    for index in range(1, count + 1):
        playbook, lead_type, _ = rng.choices(
            PLAYBOOK_SHARES, weights=[s for *_, s in PLAYBOOK_SHARES]
        )[0]
        if playbook == "respiratory-program" and rng.random() < 0.2:
            lead_type = "referral_partner"
        channel = _channel_for(rng, playbook)
        campaign = rng.choice([c for c in CAMPAIGNS if playbook in c.playbooks])
        offer = rng.choice([o for o in OFFERS if playbook in o.playbooks])
        hard_stop = _stop(rng, lead_type)
        noise = rng.gauss(0, 0.1)
        propensity = min(
            0.97,
            max(
                0.02, 0.55 * channel.quality + 0.25 * campaign.quality + 0.2 * offer.quality + noise
            ),
        )
        # a little seasonality: more leads in winter (respiratory) and spring
        day = rng.uniform(0, DAYS - 1)
        day += 20 * math.sin(day / DAYS * 2 * math.pi) * rng.random()
        created = start + timedelta(days=min(DAYS - 1, max(0.0, day)))
        created = created.replace(microsecond=0)
        profile = _profile(
            rng,
            index=index,
            playbook=playbook,
            lead_type=lead_type,
            channel=channel,
            campaign=campaign,
            offer=offer,
            hard_stop=hard_stop,
            created=created,
        )
        profile = replace(profile, notes=demo_note(notes, profile))
        touches = _touches(
            rng,
            lead=profile,
            playbook=playbook,
            channel=channel,
            propensity=propensity,
            hard_stop=hard_stop,
        )
        leads.append(
            DemoLead(
                index,
                profile,
                playbook,
                channel.name,
                campaign.name,
                offer.name,
                round(propensity, 4),
                hard_stop,
                touches,
            )
        )
    leads.sort(key=lambda lead: (lead.profile.created_at or start, lead.index))
    return leads
