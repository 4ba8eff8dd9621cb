"""``qualify(profile, events, playbook, as_of) -> Decision``: pure and deterministic.

The decision depends only on the profile, the events at or before ``as_of`` (in any order)
and the playbook; no I/O and no clock reads, so any past decision can be reproduced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leadflow.domain.conditions import evaluate
from leadflow.domain.data_quality import QUALITY_FIELDS, Action, Check, quality_fact
from leadflow.domain.decision import Blocker, Decision, Reason, Route
from leadflow.domain.events import CHANNELS, CONSENT_TYPES, ENGAGEMENT_TYPES, Event, EventType
from leadflow.domain.lifecycle import NO_TIMELINE, RECYCLED, SalesState, recheck_date, replay_sales
from leadflow.domain.normalise import Reading, normalise_profile
from leadflow.domain.playbook import Band, Playbook
from leadflow.domain.profile import LeadProfile, looks_like_email, looks_like_phone
from leadflow.domain.scoring import (
    FitResult,
    IntentResult,
    event_matches,
    score_fit,
    score_intent,
)
from leadflow.domain.stages import DEFAULT_STAGE_ACTIONS, Stage
from leadflow.errors import LeadflowError


def _by_time_and_id(event: Event) -> tuple[datetime, str]:
    return event.occurred_at, event.event_id


def _by_content(event: Event) -> tuple[datetime, str, str, str]:
    return (*event.sort_key(), repr(sorted(event.properties.items(), key=str)))


def timeline_at(events: Iterable[Event], as_of: datetime) -> list[Event]:
    """Events at or before ``as_of``, de-duplicated by id, in one total order.

    Copies of an event (the same id given more than once) are ordered by type and then
    properties too, so that which copy is kept never depends on the input order; without
    copies, time and id alone already give the order ``Event.sort_key`` gives.
    """
    kept = [e for e in events if e.occurred_at <= as_of]
    if len({e.event_id for e in kept}) == len(kept):
        kept.sort(key=_by_time_and_id)
        return kept
    ordered = sorted(kept, key=_by_content)
    seen: set[str] = set()
    unique: list[Event] = []
    for event in ordered:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


class _Facts:
    """Profile fields (normalised) plus derived contact, consent and data-quality facts,
    for conditions."""

    def __init__(self, profile: LeadProfile, timeline: list[Event], playbook: Playbook) -> None:
        consent_events: dict[str, bool] = {}  # the last consent event per channel
        for event in timeline:
            kind = event.type
            if kind is EventType.PROFILE_UPDATED:
                profile = profile.with_updates(event.properties)
            elif kind in CONSENT_TYPES:
                channel = event.prop("channel")
                if channel in CHANNELS:
                    consent_events[str(channel)] = kind is EventType.CONSENT_GRANTED
        self.reference = playbook.reference
        self.profile, self.readings = normalise_profile(
            profile, playbook.synonyms, playbook.reference
        )
        profile = self.profile
        self.quality: dict[str, bool] = {}
        consent = {
            "email": profile.consent_email is True,
            "sms": profile.consent_sms is True,
            "phone": profile.consent_phone is True,
        }
        consent.update(consent_events)
        email_ok, phone_ok = looks_like_email(profile.email), looks_like_phone(profile.phone)
        self.derived: dict[str, bool] = {
            "contact.valid_email": email_ok,
            "contact.valid_phone": phone_ok,
            "contact.valid": email_ok or phone_ok,
            "consent.email": consent["email"],
            "consent.sms": consent["sms"],
            "consent.phone": consent["phone"],
            "consent.any": any(consent.values()),
        }

    def __call__(self, name: str) -> object:
        derived = self.derived.get(name)
        if derived is not None:
            return derived
        if name in QUALITY_FIELDS:
            return self.failed(Check(name.removeprefix("quality.")))
        return self.profile.value(name)

    def failed(self, check: Check) -> bool:
        """Whether the profile fails a data-quality check (worked out when first asked)."""
        known = self.quality.get(check.value)
        if known is None:
            known = quality_fact(check, self.profile, self.reference)
            self.quality[check.value] = known
        return known


def _reading_reason(reading: Reading) -> Reason:
    return Reason(reading.rule, reading.label, 0)


def _quality_warnings(ctx: _Context) -> list[Reason]:
    """A reason with 0 points for each warning gate the lead fails; the stage is unchanged."""
    return [
        Reason(gate.rule, f"Data quality warning: {gate.label} ({gate.reason_code})", 0)
        for gate in ctx.playbook.data_quality
        if gate.action is Action.WARN and ctx.facts.failed(gate.check)
    ]


PREDICTED_FIELD = "custom.predicted_conversion"
PREDICTED_FACTORS_FIELD = "custom.predicted_conversion_factors"


def _predicted(facts: _Facts) -> float | None:
    """The lead's predicted conversion (``leadflow model score``), when it has a valid one."""
    raw = facts(PREDICTED_FIELD)
    try:
        value = float(str(raw)) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and 0.0 <= value <= 1.0 else None


def _predicted_reason(facts: _Facts, predicted: float | None) -> Reason | None:
    if predicted is None:
        return None
    factors = facts(PREDICTED_FACTORS_FIELD)
    label = f"Predicted conversion {predicted:.0%}"
    if isinstance(factors, str) and factors.strip():
        label += f" ({factors.strip()})"
    return Reason("model.predicted_conversion", label, 0)


def _band(playbook: Playbook, fit: float, intent: float, predicted: float | None) -> Band | None:
    for band in playbook.bands:
        if fit < band.fit_at_least or intent < band.intent_at_least:
            continue
        floor = band.predicted_at_least
        if floor is not None and (predicted is None or predicted < floor):
            continue
        return band
    return None


def _mql_blockers(playbook: Playbook, fit: FitResult, intent: IntentResult) -> list[Blocker]:
    blockers = [Blocker(c.id, f"Must-have not met: {c.label}") for c in fit.unmet_must_haves]
    gate = playbook.mql
    if fit.score < gate.fit_at_least:
        blockers.append(Blocker("mql.fit", f"Fit {fit.score:g} below {gate.fit_at_least:g}"))
    if intent.score < gate.intent_at_least:
        text = f"Intent {intent.score:g} below {gate.intent_at_least:g}"
        blockers.append(Blocker("mql.intent", text))
    return blockers


def _sql_blockers(playbook: Playbook, sales: SalesState) -> list[Blocker]:
    missing = set(sales.missing_answers(playbook.sql))
    return [
        Blocker(f"sql.{r.answer}", f"Discovery: {r.label}")
        for r in playbook.sql.requires
        if r.answer in missing
    ]


@dataclass(frozen=True)
class _Context:
    """Everything the stage decision reads, computed once per lead."""

    playbook: Playbook
    as_of: datetime
    timeline: list[Event]
    categories: dict[str, str | None]
    facts: _Facts
    fit: FitResult
    intent: IntentResult
    sales: SalesState


def _fast_track(ctx: _Context) -> Reason | None:
    for rule in ctx.playbook.mql.fast_track:
        if rule.condition is not None and not evaluate(rule.condition, ctx.facts):
            continue
        hit = next(
            (e for e in ctx.timeline if event_matches(rule.match, e, ctx.categories[e.event_id])),
            None,
        )
        if hit is not None:
            return Reason(rule.id, f"Fast track: {rule.label}", 0, (hit.event_id,))
    return None


def _marketing_stage(ctx: _Context, reasons: list[Reason]) -> tuple[Stage, str, list[Blocker]]:
    """new, nurture or mql, decided by must-haves, thresholds and fast tracks."""
    fit, intent, sales = ctx.fit, ctx.intent, ctx.sales
    engaged = [e for e in ctx.timeline if e.type in ENGAGEMENT_TYPES]
    blockers: list[Blocker] = []
    if sales.recycled_at is not None:
        recycled_at = sales.recycled_at
        if not any(e.occurred_at > recycled_at for e in engaged):
            label = "New engagement after being recycled from sales"
            blockers.append(Blocker("mql.recycled", label))
    gate = ctx.playbook.mql
    meets_scores = fit.score >= gate.fit_at_least and intent.score >= gate.intent_at_least
    fast = None if meets_scores else _fast_track(ctx)
    if not blockers and not fit.unmet_must_haves and (meets_scores or fast is not None):
        if fast is not None:
            reasons.append(fast)
        return Stage.MQL, "New MQL", []
    blockers.extend(_mql_blockers(ctx.playbook, fit, intent))
    if sales.recycled_at is not None:
        return Stage.NURTURE, RECYCLED, blockers
    if engaged:
        return Stage.NURTURE, "In nurture", blockers
    return Stage.NEW, "New", blockers


def _hard_stop(ctx: _Context) -> tuple[str, str, str] | None:
    """The first hard stop that applies (the playbook's, then its data-quality gates set to
    stop): rule id, label and reason code."""
    for stop in ctx.playbook.hard_stops:
        if evaluate(stop.condition, ctx.facts):
            return stop.id, stop.label, stop.reason_code
    for gate in ctx.playbook.data_quality:
        if gate.action is Action.HARD_STOP and ctx.facts.failed(gate.check):
            return gate.rule, gate.label, gate.reason_code
    return None


def _stage(ctx: _Context, reasons: list[Reason]) -> tuple[Stage, str, str | None, list[Blocker]]:
    """Stage, status, disqualification reason and blockers, before sales-stage blockers."""
    sales = ctx.sales
    if sales.stage in (Stage.WON, Stage.LOST):
        return sales.stage, sales.status or "", None, []
    if sales.stage is Stage.DISQUALIFIED:
        return sales.stage, sales.status or "", sales.terminal_reason, []
    stop = _hard_stop(ctx)
    if stop is not None:
        rule, label, code = stop
        reasons.append(Reason(rule, f"Hard stop: {label}", 0))
        return Stage.DISQUALIFIED, f"Disqualified – {code}", code, []
    if sales.stage is None:
        stage, status, blockers = _marketing_stage(ctx, reasons)
        return stage, status, None, blockers
    return sales.stage, sales.status or "", None, []


def _next_steps(ctx: _Context, stage: Stage, status: str, blockers: list[Blocker]) -> str:
    """Adds the blockers of the sales stages; returns the next action."""
    playbook, sales = ctx.playbook, ctx.sales
    action = playbook.stage_actions.get(stage) or DEFAULT_STAGE_ACTIONS.get(stage)
    if stage is Stage.SQL:
        blockers.append(Blocker("sales.appointment", "Appointment or evaluation to be scheduled"))
    elif stage is Stage.OPPORTUNITY:
        blockers.append(Blocker("sales.outcome", "Outcome to be recorded: won or lost"))
    elif stage in (Stage.MQL, Stage.SALES_ACCEPTED) and not blockers:
        if stage is Stage.MQL and status != NO_TIMELINE:
            blockers.append(Blocker("sales.review", "Sales review: accept or reject"))
        blockers.extend(_sql_blockers(playbook, sales))
    recheck = _recheck(ctx, status)
    if recheck is not None:
        due = "recheck due" if ctx.as_of >= recheck else f"recheck on {recheck.date().isoformat()}"
        blockers.append(Blocker("sql.timeline_recheck", f"Timeline: {due}"))
        action = f"Nurture; {due}"
    return action or ""


def _recheck(ctx: _Context, status: str) -> datetime | None:
    return (
        recheck_date(ctx.sales, ctx.timeline, ctx.playbook.sql) if status == NO_TIMELINE else None
    )


def _route(ctx: _Context, stage: Stage, band: Band | None) -> Route:
    for rule in ctx.playbook.routes:
        if stage not in rule.stages:
            continue
        if rule.bands is not None and (band is None or band.name not in rule.bands):
            continue
        if rule.condition is not None and not evaluate(rule.condition, ctx.facts):
            continue
        return Route(queue=rule.queue)
    return Route()


def qualify(
    profile: LeadProfile, events: Iterable[Event], playbook: Playbook, as_of: datetime
) -> Decision:
    """Decide ``profile``'s stage at ``as_of`` under ``playbook``, with every reason."""
    if as_of.tzinfo is None:
        raise LeadflowError("as_of must be timezone-aware")
    timeline = timeline_at(events, as_of)
    facts = _Facts(profile, timeline, playbook)
    category = playbook.pages.category
    categories = {e.event_id: category(e) for e in timeline}
    ctx = _Context(
        playbook=playbook,
        as_of=as_of,
        timeline=timeline,
        categories=categories,
        facts=facts,
        fit=score_fit(playbook.fit, facts),
        intent=score_intent(playbook, timeline, categories, as_of),
        sales=replay_sales(timeline, playbook.sql),
    )
    reasons: list[Reason] = [_reading_reason(r) for r in facts.readings]
    stage, status, disqualification, blockers = _stage(ctx, reasons)
    reasons.extend(_quality_warnings(ctx))
    reasons.extend(ctx.sales.reasons)
    reasons.extend(ctx.fit.reasons)
    reasons.extend(ctx.intent.reasons)
    predicted = _predicted(facts)
    model_reason = _predicted_reason(facts, predicted)
    if model_reason is not None:
        reasons.append(model_reason)
    band = _band(playbook, ctx.fit.score, ctx.intent.score, predicted)
    next_action = _next_steps(ctx, stage, status, blockers)
    if not next_action:
        next_action = band.next_action if band else "Nurture only"
    return Decision(
        lead_id=profile.lead_id,
        stage=stage,
        status=status,
        fit_score=ctx.fit.score,
        intent_score=ctx.intent.score,
        band=band.name if band else "none",
        reasons=tuple(reasons),
        blockers=tuple(blockers),
        disqualification_reason=disqualification,
        next_action=next_action,
        route=_route(ctx, stage, band),
        playbook_id=playbook.id,
        playbook_version=playbook.version,
        recheck_at=_recheck(ctx, status),
    )
