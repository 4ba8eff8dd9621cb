"""The playbook language as pydantic models: the shape of the YAML, validated in full.

Every model forbids unknown keys and is frozen. Rules about one node (one operator per
test, property names of the matched event types) are checked by the models; rules about
the whole playbook are in :mod:`leadflow.adapters.playbook_yaml.checks`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from leadflow.adapters.playbook_yaml.matchers import (
    Condition,
    EventMatch,
    Model,
    Operators,
    PropertyTest,
)
from leadflow.adapters.playbook_yaml.values import (
    Count,
    DiscoveryAnswer,
    LeadTypeName,
    Name,
    NonEmpty,
    NonNegative,
    NonZero,
    Number,
    PlaybookSlug,
    Positive,
    ReasonCode,
    RepeatName,
    RuleId,
    SlaText,
    StageName,
    Text,
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


class Queue(Model):
    """A team's queue: outreach channel and first-outreach SLA per stage."""

    id: RuleId
    label: Text
    outreach: Name
    sla: dict[StageName, SlaText] = Field(default_factory=dict)


class RouteRule(Model):
    """Sends leads in ``stages`` (and ``bands``, and matching ``when``) to ``queue``."""

    queue: RuleId
    stages: Annotated[tuple[StageName, ...], NonEmpty]
    bands: Annotated[tuple[Name, ...], NonEmpty] | None = None
    when: Condition | None = None


class Routing(Model):
    """Queues and the rules that fill them (first match wins)."""

    queues: tuple[Queue, ...] = ()
    rules: tuple[RouteRule, ...] = ()


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
    stages: Stages
    bands: tuple[Band, ...]
    routing: Routing = Routing()
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
    FastTrack,
    Mql,
    Requirement,
    Sql,
    Stages,
    Band,
    Queue,
    RouteRule,
    Routing,
    PlaybookModel,
)
