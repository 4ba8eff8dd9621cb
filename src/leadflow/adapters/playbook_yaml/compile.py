"""Validated playbook models compiled into the domain's :class:`Playbook`.

Compilation cannot fail: everything it relies on was validated by the schema. The version
is a content hash of the validated model, so comments and layout never change it and any
rule change does.
"""

from __future__ import annotations

import hashlib
import json
from types import MappingProxyType

from leadflow.adapters.playbook_yaml import schema as s
from leadflow.adapters.playbook_yaml.matchers import Condition as ConditionModel
from leadflow.adapters.playbook_yaml.matchers import EventMatch as EventMatchModel
from leadflow.adapters.playbook_yaml.matchers import Operators
from leadflow.adapters.playbook_yaml.values import DAYS, parse_hours
from leadflow.domain import playbook as d
from leadflow.domain.calendar import BusinessHours, Sla, parse_sla
from leadflow.domain.conditions import AllOf, AnyOf, Condition, FieldTest, Not
from leadflow.domain.data_quality import DEFAULT_LABELS, Action, Check, QualityGate
from leadflow.domain.events import EventType
from leadflow.domain.normalise import ReferenceData, Synonyms
from leadflow.domain.pages import PageRule
from leadflow.domain.playbook import DEFAULT_RECHECK_SLA
from leadflow.domain.purposes import Purpose
from leadflow.domain.reasons import DEFAULT_REASONS, ReasonCatalog, ReasonCode
from leadflow.domain.stages import Stage


def version_of(model: s.PlaybookModel) -> str:
    """The first 12 hex digits of sha256 over the model's canonical JSON.

    Values equal to their defaults are left out, so spelling a default out does not change
    the version, and neither does a new optional key in a later leadflow release.
    """
    dumped = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _field_test(name: str, test: Operators) -> FieldTest:
    op, values = test.operator(f"the test on `{name}`")
    return FieldTest(name, op, values)


def compile_condition(condition: ConditionModel) -> Condition:
    """A schema condition as a domain condition."""
    if condition.all_ is not None:
        return AllOf(tuple(compile_condition(c) for c in condition.all_))
    if condition.any_ is not None:
        return AnyOf(tuple(compile_condition(c) for c in condition.any_))
    if condition.not_ is not None:
        return Not(compile_condition(condition.not_))
    return _field_test(condition.field or "", condition)


def _optional(condition: ConditionModel | None) -> Condition | None:
    return None if condition is None else compile_condition(condition)


def compile_match(match: EventMatchModel) -> d.EventMatch:
    """A schema event match as a domain event match."""
    return d.EventMatch(
        types=frozenset(EventType(t) for t in match.type),
        page_categories=None if match.page_category is None else frozenset(match.page_category),
        properties=tuple(_field_test(name, test) for name, test in match.properties.items()),
    )


def _slas(texts: dict[str, str]) -> MappingProxyType[Stage, Sla]:
    return MappingProxyType({Stage(stage): parse_sla(text) for stage, text in texts.items()})


def _queue(queue: s.Queue) -> d.Queue:
    return d.Queue(
        queue.id,
        queue.label,
        queue.outreach,
        _slas(queue.sla),
        team=queue.team,
        band_sla=MappingProxyType({band: _slas(t) for band, t in queue.band_sla.items()}),
        remind_before=None if queue.remind_before is None else parse_sla(queue.remind_before),
        reassign_after=None if queue.reassign_after is None else parse_sla(queue.reassign_after),
        purposes=MappingProxyType(
            {Stage(stage): Purpose(purpose) for stage, purpose in queue.purposes.items()}
        ),
        recheck=DEFAULT_RECHECK_SLA if queue.recheck is None else parse_sla(queue.recheck),
    )


def _team(team: s.Team) -> d.Team:
    week = tuple((parse_hours(team.hours[day]),) if day in team.hours else () for day in DAYS)
    return d.Team(
        team.id,
        team.label,
        BusinessHours(team.time_zone, week, frozenset(team.holidays)),
        tuple(
            d.Member(
                m.id,
                m.name,
                m.email,
                m.capacity,
                None if m.days is None else frozenset(DAYS.index(x) for x in m.days),
            )
            for m in team.members
        ),
        team.lead,
        d.Assignment(team.assignment),
    )


def _track(track: s.NurtureTrack) -> d.NurtureTrack:
    return d.NurtureTrack(
        track.id,
        track.label,
        tuple(d.NurtureStep(parse_sla(x.delay), x.channel, x.template) for x in track.steps),
        frozenset(d.NurtureEntry(e) for e in track.entry),
        None if track.service_lines is None else frozenset(track.service_lines),
    )


def _confirmation(confirmation: s.Confirmation | None) -> d.Confirmation | None:
    if confirmation is None:
        return None
    return d.Confirmation(confirmation.template, frozenset(EventType(e) for e in confirmation.on))


def _route(rule: s.RouteRule) -> d.RouteRule:
    return d.RouteRule(
        queue=rule.queue,
        stages=frozenset(Stage(x) for x in rule.stages),
        bands=None if rule.bands is None else frozenset(rule.bands),
        condition=_optional(rule.when),
    )


def _declared(reasons: tuple[s.Reason, ...]) -> tuple[ReasonCode, ...]:
    return tuple(ReasonCode(r.code, r.label) for r in reasons)


def _reasons(model: s.PlaybookModel) -> ReasonCatalog:
    """The declared reasons; a kind left out takes the defaults, and a default
    ``disqualify`` list also gets each hard stop's code (labelled as the hard stop)."""
    declared = model.reasons
    disqualify = DEFAULT_REASONS.disqualify
    if declared.disqualify is not None:
        disqualify = _declared(declared.disqualify)
    else:
        for stop in model.hard_stops:
            if stop.reason not in {r.code for r in disqualify}:
                disqualify += (ReasonCode(stop.reason, stop.label),)
    return ReasonCatalog(
        reject=DEFAULT_REASONS.reject if declared.reject is None else _declared(declared.reject),
        disqualify=disqualify,
        lose=DEFAULT_REASONS.lose if declared.lose is None else _declared(declared.lose),
    )


def _gates(quality: s.DataQuality) -> tuple[QualityGate, ...]:
    gates: list[QualityGate] = []
    for check in Check:
        gate: s.QualityGate | None = getattr(quality, check.value)
        if gate is not None:
            label = gate.label or DEFAULT_LABELS[check]
            gates.append(QualityGate(check, Action(gate.action), gate.reason, label))
    return tuple(gates)


def compile_playbook(model: s.PlaybookModel, reference: ReferenceData) -> d.Playbook:
    """The domain playbook for a validated model, versioned by its content, reading values
    with ``reference``'s tables."""
    mql, sql = model.stages.mql, model.stages.sql
    return d.Playbook(
        id=model.id,
        name=model.name,
        version=version_of(model),
        description=model.description,
        lead_types=frozenset(model.lead_types),
        default_half_life_days=model.decay.half_life_days,
        page_rules=tuple(PageRule(r.pattern, r.category) for r in model.page_categories),
        fit=tuple(
            d.FitCriterion(c.id, c.label, compile_condition(c.when), c.must_have, c.points)
            for c in model.fit
        ),
        signals=tuple(
            d.IntentSignal(
                x.id,
                x.label,
                compile_match(x.on),
                x.points,
                d.Repeat(x.repeat),
                x.cap,
                x.half_life_days,
            )
            for x in model.intent.signals
        ),
        bonuses=tuple(
            d.FrequencyBonus(
                b.id,
                b.label,
                compile_match(b.on),
                b.at_least,
                b.within_days,
                b.points,
                b.half_life_days,
            )
            for b in model.intent.bonuses
        ),
        hard_stops=tuple(
            d.HardStop(h.id, h.label, h.reason, compile_condition(h.when)) for h in model.hard_stops
        ),
        mql=d.MqlGate(
            mql.fit_at_least,
            mql.intent_at_least,
            tuple(
                d.FastTrack(f.id, f.label, compile_match(f.on), _optional(f.when))
                for f in mql.fast_track
            ),
        ),
        sql=d.SqlGate(
            tuple(d.DiscoveryRequirement(r.answer, r.label) for r in sql.requires),
            sql.no_timeline_recheck_days,
        ),
        bands=tuple(
            d.Band(b.name, b.fit_at_least, b.intent_at_least, b.next_action, b.predicted_at_least)
            for b in model.bands
        ),
        queues=tuple(_queue(q) for q in model.routing.queues),
        routes=tuple(_route(r) for r in model.routing.rules),
        teams=tuple(_team(t) for t in model.routing.teams),
        templates=tuple(d.Template(t.id, t.body, t.subject) for t in model.nurture.templates),
        tracks=tuple(_track(t) for t in model.nurture.tracks),
        confirmation=_confirmation(model.nurture.confirmation),
        stage_actions=MappingProxyType({Stage(k): v for k, v in model.next_actions.items()}),
        reasons=_reasons(model),
        synonyms=Synonyms.of({str(k): v for k, v in model.synonyms.items()}),
        data_quality=_gates(model.data_quality),
        reference=reference,
    )
