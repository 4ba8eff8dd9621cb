"""The playbook language as pydantic models: the shape of the YAML, validated in full.

Every model forbids unknown keys and is frozen. Rules about one node (one operator per
test, property names of the matched event types) are checked by the models; rules about
the whole playbook are in :mod:`leadflow.adapters.playbook_yaml.checks`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from leadflow.adapters.playbook_yaml.matchers import (
    Condition,
    EventMatch,
    Model,
    Operators,
    PropertyTest,
)
from leadflow.adapters.playbook_yaml.values import (
    CaptureTypes,
    Count,
    DayName,
    DiscoveryAnswer,
    HoursText,
    LeadTypeName,
    Name,
    NonEmpty,
    NonNegative,
    NonZero,
    Number,
    PlaybookSlug,
    Positive,
    PurposeName,
    ReasonCode,
    RepeatName,
    RuleId,
    SlaText,
    StageName,
    Text,
    ZoneName,
)


class PageCategoryRule(Model):
    """A URL path glob mapped to a page category."""

    pattern: Text
    category: Name


class Decay(Model):
    """The default half-life of signals and bonuses; omitted means no decay."""

    half_life_days: NonNegative | None = None


class FitCriterion(Model):
    """A profile test worth ``points``; a must-have is required for MQL."""

    id: RuleId
    label: Text
    must_have: bool = False
    points: Number = 0
    when: Condition


class Signal(Model):
    """Engagement worth ``points`` (negative for negative signals)."""

    id: RuleId
    label: Text
    on: EventMatch
    points: NonZero
    repeat: RepeatName = "each"
    cap: Positive | None = None
    half_life_days: NonNegative | None = None


class Bonus(Model):
    """Extra points when ``at_least`` matching events fall within ``within_days``."""

    id: RuleId
    label: Text
    on: EventMatch
    at_least: Count = Field(ge=2)
    within_days: Positive
    points: Positive
    half_life_days: NonNegative | None = None


class Intent(Model):
    """Intent signals and frequency bonuses."""

    signals: tuple[Signal, ...] = ()
    bonuses: tuple[Bonus, ...] = ()


class HardStop(Model):
    """Disqualifies regardless of score, with a reason code."""

    id: RuleId
    label: Text
    reason: ReasonCode
    when: Condition


class Reason(Model):
    """A reason code sales may give, with its label for people."""

    code: ReasonCode
    label: Text


ReasonList = Annotated[tuple[Reason, ...], NonEmpty]


class Reasons(Model):
    """The reason codes per kind; a kind left out takes the defaults (docs/playbooks.md)."""

    reject: ReasonList | None = None
    disqualify: ReasonList | None = None
    lose: ReasonList | None = None


SynonymField = Literal["service_line", "specialty", "org_type", "role", "source", "channel"]
Variants = tuple[Text, ...]


class QualityGate(Model):
    """One data-quality check turned on: a warning or a hard stop, with its reason code."""

    action: Literal["warn", "hard_stop"]
    reason: ReasonCode
    label: Text | None = None


class DataQuality(Model):
    """The data-quality checks a playbook turns on (each off when left out)."""

    disposable_email: QualityGate | None = None
    zip_state_mismatch: QualityGate | None = None
    junk_name: QualityGate | None = None


class FastTrack(Model):
    """An event (and optional profile test) that makes a lead an MQL without the scores."""

    id: RuleId
    label: Text
    on: EventMatch
    when: Condition | None = None


class Mql(Model):
    """The MQL gate: both thresholds, or a fast track."""

    fit_at_least: NonNegative
    intent_at_least: NonNegative
    fast_track: tuple[FastTrack, ...] = ()


class Requirement(Model):
    """A discovery answer SQL needs, and the question sales asks for it."""

    answer: DiscoveryAnswer
    label: Text


class Sql(Model):
    """The SQL gate: the discovery answers, and when to recheck a lead with no timeline."""

    requires: tuple[Requirement, ...]
    no_timeline_recheck_days: Count = Field(default=30, ge=1)


class Stages(Model):
    """The two gates the playbook defines."""

    mql: Mql
    sql: Sql


class Band(Model):
    """A score band; the first band whose thresholds a lead meets applies."""

    name: Name
    fit_at_least: NonNegative = 0
    intent_at_least: NonNegative = 0
    predicted_at_least: Annotated[float, Field(ge=0, le=1)] | None = None
    next_action: Text


class Member(Model):
    """A person who works a team's leads."""

    id: Name
    name: Text
    email: Text | None = None
    capacity: Annotated[Count, Field(ge=1)] | None = None
    days: Annotated[tuple[DayName, ...], NonEmpty] | None = None


class Team(Model):
    """People who share a queue's work, with their opening hours, time zone and holidays."""

    id: Name
    label: Text
    time_zone: ZoneName
    hours: Annotated[dict[DayName, HoursText], Field(min_length=1)]
    holidays: tuple[date, ...] = ()
    lead: Name | None = None
    assignment: Literal["round_robin", "load_balanced"] = "round_robin"
    members: Annotated[tuple[Member, ...], NonEmpty]


class Queue(Model):
    """A team's queue: outreach channel and first-outreach SLA per stage (and band)."""

    id: RuleId
    label: Text
    outreach: Name
    team: Name | None = None
    sla: dict[StageName, SlaText] = Field(default_factory=dict)
    band_sla: dict[Name, dict[StageName, SlaText]] = Field(default_factory=dict)
    remind_before: SlaText | None = None
    reassign_after: SlaText | None = None
    purposes: dict[StageName, PurposeName] = Field(default_factory=dict)
    recheck: SlaText | None = None


class RouteRule(Model):
    """Sends leads in ``stages`` (and ``bands``, and matching ``when``) to ``queue``."""

    queue: RuleId
    stages: Annotated[tuple[StageName, ...], NonEmpty]
    bands: Annotated[tuple[Name, ...], NonEmpty] | None = None
    when: Condition | None = None


class Routing(Model):
    """Teams, queues and the rules that fill them (first match wins)."""

    teams: tuple[Team, ...] = ()
    queues: tuple[Queue, ...] = ()
    rules: tuple[RouteRule, ...] = ()


class Template(Model):
    """A nurture message; ``subject`` is for email."""

    id: RuleId
    subject: Text | None = None
    body: Text


class NurtureStep(Model):
    """Send ``template`` on ``channel`` once ``delay`` has passed since the previous step."""

    delay: SlaText
    channel: Literal["email", "sms", "phone"]
    template: RuleId


class NurtureTrack(Model):
    """Steps for leads that fall below MQL or are recycled (optionally per service line)."""

    id: RuleId
    label: Text
    entry: Annotated[tuple[Literal["below_mql", "recycled"], ...], NonEmpty] = (
        "below_mql",
        "recycled",
    )
    service_lines: Annotated[tuple[Name, ...], NonEmpty] | None = None
    steps: Annotated[tuple[NurtureStep, ...], NonEmpty]


class Confirmation(Model):
    """The email a form capture gets at once, when the lead consented to email."""

    template: RuleId
    on: CaptureTypes = ("form_submitted",)


class Nurture(Model):
    """Nurture tracks (first match wins), the form confirmation and the templates they send."""

    confirmation: Confirmation | None = None
    templates: tuple[Template, ...] = ()
    tracks: tuple[NurtureTrack, ...] = ()


class PlaybookModel(Model):
    """One playbook file."""

    id: PlaybookSlug
    name: Text
    description: str = ""
    lead_types: tuple[LeadTypeName, ...] = ()
    decay: Decay = Decay()
    page_categories: tuple[PageCategoryRule, ...] = ()
    fit: tuple[FitCriterion, ...] = ()
    intent: Intent = Intent()
    hard_stops: tuple[HardStop, ...] = ()
    reasons: Reasons = Reasons()
    synonyms: dict[SynonymField, dict[Name, Variants]] = Field(default_factory=dict)
    data_quality: DataQuality = DataQuality()
    stages: Stages
    bands: tuple[Band, ...]
    routing: Routing = Routing()
    nurture: Nurture = Nurture()
    next_actions: dict[StageName, Text] = Field(default_factory=dict)


ALL_MODELS: tuple[type[Model], ...] = (
    Operators,
    Condition,
    PropertyTest,
    EventMatch,
    PageCategoryRule,
    Decay,
    FitCriterion,
    Signal,
    Bonus,
    Intent,
    HardStop,
    Reason,
    Reasons,
    QualityGate,
    DataQuality,
    FastTrack,
    Mql,
    Requirement,
    Sql,
    Stages,
    Band,
    Member,
    Team,
    Queue,
    RouteRule,
    Routing,
    Template,
    NurtureStep,
    NurtureTrack,
    Confirmation,
    Nurture,
    PlaybookModel,
)
