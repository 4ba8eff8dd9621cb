"""A compiled playbook: the declarative rules of one qualification program.

Built from YAML by ``leadflow.adapters.playbook_yaml``; the engine reads only these objects,
so a columnar evaluator could read the same rules later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from leadflow.domain.calendar import BusinessHours, Sla, SlaUnit
from leadflow.domain.conditions import Condition, FieldTest
from leadflow.domain.data_quality import QualityGate
from leadflow.domain.events import EventType
from leadflow.domain.normalise import NO_REFERENCE_DATA, NO_SYNONYMS, ReferenceData, Synonyms
from leadflow.domain.pages import PageMatcher, PageRule
from leadflow.domain.purposes import DEFAULT_PURPOSES, Purpose
from leadflow.domain.reasons import DEFAULT_REASONS, ReasonCatalog
from leadflow.domain.stages import Stage

DEFAULT_RECHECK_SLA = Sla(1, SlaUnit.DAYS, business=True)


class Repeat(StrEnum):
    """Whether a signal scores once (its most recent occurrence) or for each occurrence."""

    ONCE = "once"
    EACH = "each"


@dataclass(frozen=True)
class EventMatch:
    """Which events a rule counts: types, optional page categories and property tests."""

    types: frozenset[EventType]
    page_categories: frozenset[str] | None = None
    properties: tuple[FieldTest, ...] = ()


@dataclass(frozen=True)
class FitCriterion:
    """A profile test worth ``points``; a must-have is required for MQL."""

    id: str
    label: str
    condition: Condition
    must_have: bool
    points: float


@dataclass(frozen=True)
class IntentSignal:
    """Engagement worth ``points`` per occurrence, decayed, capped, once or repeatable."""

    id: str
    label: str
    match: EventMatch
    points: float
    repeat: Repeat
    cap: float | None
    half_life_days: float | None


@dataclass(frozen=True)
class FrequencyBonus:
    """Extra points when ``at_least`` matching events fall within ``within_days``."""

    id: str
    label: str
    match: EventMatch
    at_least: int
    within_days: float
    points: float
    half_life_days: float | None


@dataclass(frozen=True)
class HardStop:
    """Disqualifies regardless of score, with a reason code."""

    id: str
    label: str
    reason_code: str
    condition: Condition


@dataclass(frozen=True)
class FastTrack:
    """Qualifies for MQL without the score thresholds (must-haves still apply)."""

    id: str
    label: str
    match: EventMatch
    condition: Condition | None = None


@dataclass(frozen=True)
class MqlGate:
    """What makes a lead an MQL."""

    fit_at_least: float
    intent_at_least: float
    fast_track: tuple[FastTrack, ...] = ()


@dataclass(frozen=True)
class DiscoveryRequirement:
    """A discovery answer SQL needs, with the question sales asks for it."""

    answer: str
    label: str


@dataclass(frozen=True)
class SqlGate:
    """What makes a lead an SQL: the named discovery answers."""

    requires: tuple[DiscoveryRequirement, ...]
    no_timeline_recheck_days: int = 30


@dataclass(frozen=True)
class Band:
    """A score band; the first band whose thresholds a lead meets applies."""

    name: str
    fit_at_least: float
    intent_at_least: float
    next_action: str
    predicted_at_least: float | None = None


class Assignment(StrEnum):
    """How a team hands out leads."""

    ROUND_ROBIN = "round_robin"  # the member who waited longest since their last lead
    LOAD_BALANCED = "load_balanced"  # the member with the fewest open leads, under their cap


@dataclass(frozen=True)
class Member:
    """A person who works a team's leads; ``days`` (weekday numbers, Monday 0) they work."""

    id: str
    name: str
    email: str | None = None
    capacity: int | None = None
    days: frozenset[int] | None = None

    def works_on(self, weekday: int) -> bool:
        return self.days is None or weekday in self.days


@dataclass(frozen=True)
class Team:
    """People who share queues, with their business hours (time zone, holidays) and lead."""

    id: str
    label: str
    hours: BusinessHours
    members: tuple[Member, ...]
    lead: str | None = None
    assignment: Assignment = Assignment.ROUND_ROBIN

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)

    def member_acting(self, actor: str) -> Member | None:
        """The member who is ``actor``: a signed-in ``user:EMAIL`` with the member's email,
        or the member's id itself (a rep named by id, as the demo and imports do)."""
        kind, _, rest = actor.partition(":")
        if kind == "user" and rest:
            email = rest.casefold()
            return next((m for m in self.members if m.email and m.email.casefold() == email), None)
        return self.member(actor)


@dataclass(frozen=True)
class Queue:
    """Where leads are routed: the team, first-outreach SLAs per stage (and band), escalation.

    ``remind_before``: the owner is reminded when that much (business) time is left;
    ``reassign_after``: that long after a breach the lead goes to another member.
    """

    id: str
    label: str
    outreach: str
    sla: Mapping[Stage, Sla]
    team: str | None = None
    band_sla: Mapping[str, Mapping[Stage, Sla]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    remind_before: Sla | None = None
    reassign_after: Sla | None = None
    # what each stage's clock is for, where it differs from DEFAULT_PURPOSES
    purposes: Mapping[Stage, Purpose] = field(default_factory=lambda: MappingProxyType({}))
    # an "MQL – no timeline" lead's recheck, counted from its recheck date
    recheck: Sla = field(default_factory=lambda: DEFAULT_RECHECK_SLA)

    def sla_for(self, stage: Stage, band: str | None) -> Sla | None:
        """The band's SLA for ``stage`` when it has one, else the queue's."""
        by_band = self.band_sla.get(band or "", {})
        return by_band.get(stage) or self.sla.get(stage)

    def purpose_for(self, stage: Stage) -> Purpose:
        """What the clock of ``stage`` is for in this queue."""
        return self.purposes.get(stage) or DEFAULT_PURPOSES.get(stage, Purpose.FIRST_OUTREACH)

    def clock_sla(self, purpose: Purpose, stage: Stage, band: str | None) -> Sla | None:
        """The SLA of a clock for ``purpose``: the recheck's own, else the stage's."""
        return self.recheck if purpose is Purpose.RECHECK else self.sla_for(stage, band)


@dataclass(frozen=True)
class RouteRule:
    """Sends leads in ``stages`` (and ``bands``, and matching ``condition``) to ``queue``."""

    queue: str
    stages: frozenset[Stage]
    bands: frozenset[str] | None = None
    condition: Condition | None = None


@dataclass(frozen=True)
class Template:
    """A nurture message; ``subject`` is for email. ``{first_name}`` and the like are filled."""

    id: str
    body: str
    subject: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """The email a form capture (an event of a type in ``on``) gets at once, with consent."""

    template: str
    on: frozenset[EventType]


class NurtureEntry(StrEnum):
    BELOW_MQL = "below_mql"  # the lead is in nurture without having been with sales
    RECYCLED = "recycled"  # sales handed it back ("Recycled from sales")


@dataclass(frozen=True)
class NurtureStep:
    """Send ``template`` on ``channel`` once ``delay`` has passed since the previous step."""

    delay: Sla
    channel: str
    template: str


@dataclass(frozen=True)
class NurtureTrack:
    """Steps for leads in nurture that entered as ``entry`` (and are in ``service_lines``)."""

    id: str
    label: str
    steps: tuple[NurtureStep, ...]
    entry: frozenset[NurtureEntry] = frozenset(NurtureEntry)
    service_lines: frozenset[str] | None = None


@dataclass(frozen=True)
class Playbook:
    """One program's qualification rules, identified by id and content-hash version."""

    id: str
    name: str
    version: str
    description: str = ""
    lead_types: frozenset[str] = frozenset()
    default_half_life_days: float | None = None
    page_rules: tuple[PageRule, ...] = ()
    fit: tuple[FitCriterion, ...] = ()
    signals: tuple[IntentSignal, ...] = ()
    bonuses: tuple[FrequencyBonus, ...] = ()
    hard_stops: tuple[HardStop, ...] = ()
    mql: MqlGate = field(default_factory=lambda: MqlGate(0, 0))
    sql: SqlGate = field(default_factory=lambda: SqlGate(()))
    bands: tuple[Band, ...] = ()
    queues: tuple[Queue, ...] = ()
    routes: tuple[RouteRule, ...] = ()
    teams: tuple[Team, ...] = ()
    templates: tuple[Template, ...] = ()
    tracks: tuple[NurtureTrack, ...] = ()
    confirmation: Confirmation | None = None
    stage_actions: Mapping[Stage, str] = field(default_factory=lambda: MappingProxyType({}))
    # The reason codes sales may give (reject, disqualify, lose); hard stops use them too.
    reasons: ReasonCatalog = DEFAULT_REASONS
    # What each variant of a value means (``synonyms:``), and the data-quality checks
    # turned on as warnings or hard stops (``data_quality:``).
    synonyms: Synonyms = NO_SYNONYMS
    data_quality: tuple[QualityGate, ...] = ()
    # The reference tables (states, countries, ZIP codes, disposable domains) the playbook
    # was loaded with: handed in by the loader, not part of the rules or of equality.
    reference: ReferenceData = field(default=NO_REFERENCE_DATA, repr=False, compare=False)
    # Derived from the rules above when the playbook is made, for the engine; not part of
    # equality. ``pages``: the page rules compiled. ``intent_rules``: for each event type,
    # the positions of the intent rules that count it (signals, then bonuses), in order.
    pages: PageMatcher = field(init=False, repr=False, compare=False)
    intent_rules: Mapping[EventType, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", PageMatcher(self.page_rules))
        positions: dict[EventType, list[int]] = {}
        matches = [s.match for s in self.signals] + [b.match for b in self.bonuses]
        for position, match in enumerate(matches):
            for event_type in match.types:
                positions.setdefault(event_type, []).append(position)
        index = {event_type: tuple(found) for event_type, found in positions.items()}
        object.__setattr__(self, "intent_rules", MappingProxyType(index))

    def queue(self, queue_id: str | None) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    def team(self, team_id: str | None) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def template(self, template_id: str) -> Template | None:
        return next((t for t in self.templates if t.id == template_id), None)

    def max_fit(self) -> float:
        """The highest fit score any lead can reach."""
        return sum(c.points for c in self.fit if c.points > 0)

    def max_intent(self) -> float | None:
        """The highest intent score any lead can reach, or ``None`` when unbounded."""
        total = 0.0
        for signal in self.signals:
            if signal.points <= 0:
                continue
            if signal.cap is not None:
                total += (
                    min(signal.cap, signal.points) if signal.repeat is Repeat.ONCE else signal.cap
                )
            elif signal.repeat is Repeat.ONCE:
                total += signal.points
            else:
                return None
        total += sum(b.points for b in self.bonuses if b.points > 0)
        return total
