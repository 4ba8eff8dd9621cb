"""The shared definitions document: what MQL and SQL mean, generated from the rules.

The seeds recommend that marketing and sales agree on a written definition of each stage.
This renders it as Markdown from a compiled playbook, so it can never drift from the rules
the engine applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from leadflow.domain.conditions import describe
from leadflow.domain.lifecycle import NO_TIMELINE
from leadflow.domain.playbook import (
    EventMatch,
    FitCriterion,
    FrequencyBonus,
    IntentSignal,
    Playbook,
    Repeat,
)
from leadflow.domain.reasons import ReasonKind
from leadflow.domain.stages import (
    ALLOWED_ACTIONS,
    DEFAULT_STAGE_ACTIONS,
    STAGE_ORDER,
    SalesAction,
    Stage,
)
from leadflow.services.playbook_doc_routing import nurture_section, routing_section, table


def _num(value: float) -> str:
    return f"{value:g}"


def _points(value: float) -> str:
    return f"{value:+g}"


def _either(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_match(match: EventMatch) -> str:
    """E.g. ```page_viewed` (page category scheduling or eligibility)``."""
    text = _either(f"`{t.value}`" for t in sorted(match.types))
    if match.page_categories is not None:
        text += f" (page category {_either(sorted(match.page_categories))})"
    if match.properties:
        text += " where " + " and ".join(describe(p) for p in match.properties)
    return text


def _half_life(value: float | None, default: float | None) -> str:
    days = value if value is not None else default
    return "none" if not days else f"{_num(days)} days"


def _criteria(title: str, criteria: Sequence[FitCriterion], none: str) -> list[str]:
    lines = [f"### {title}", ""]
    if not criteria:
        return [*lines, none, ""]
    return lines + table(
        ("Criterion", "Rule", "Fit points", "Id"),
        ((c.label, describe(c.condition), _points(c.points), f"`{c.id}`") for c in criteria),
    )


def _mql(playbook: Playbook) -> list[str]:
    gate = playbook.mql
    must = [c for c in playbook.fit if c.must_have]
    nice = [c for c in playbook.fit if not c.must_have]
    lines = [
        "## Marketing-qualified lead (MQL)",
        "",
        "A lead is an MQL when no hard stop applies, it meets **every must-have** and it "
        f"reaches **fit ≥ {_num(gate.fit_at_least)}** and **intent ≥ "
        f"{_num(gate.intent_at_least)}**"
        + (", or a fast track applies." if gate.fast_track else "."),
        "",
        f"The highest fit score a lead can reach is {_num(playbook.max_fit())}.",
        "",
    ]
    lines += _criteria("Must-have criteria", must, "None: every lead can qualify on scores.")
    lines += _criteria("Nice-to-have criteria", nice, "None.")
    lines += ["### Fast track", ""]
    if not gate.fast_track:
        return [*lines, "None: every MQL must reach both thresholds.", ""]
    lines += ["A lead that meets every must-have becomes an MQL without the thresholds when:", ""]
    for rule in gate.fast_track:
        when = f", and {describe(rule.condition)}" if rule.condition is not None else ""
        lines.append(f"- **{rule.label}** (`{rule.id}`): {describe_match(rule.match)}{when}")
    return [*lines, ""]


def _signal_rows(playbook: Playbook, signals: Sequence[IntentSignal]) -> list[list[str]]:
    default = playbook.default_half_life_days
    return [
        [
            s.label,
            describe_match(s.match),
            _points(s.points),
            "once" if s.repeat is Repeat.ONCE else "each time",
            "none" if s.cap is None else _num(s.cap),
            _half_life(s.half_life_days, default),
            f"`{s.id}`",
        ]
        for s in signals
    ]


def _bonus_rows(playbook: Playbook, bonuses: Sequence[FrequencyBonus]) -> list[list[str]]:
    default = playbook.default_half_life_days
    return [
        [
            b.label,
            describe_match(b.match),
            f"{b.at_least}+ within {_num(b.within_days)} days",
            _points(b.points),
            _half_life(b.half_life_days, default),
            f"`{b.id}`",
        ]
        for b in bonuses
    ]


def _intent(playbook: Playbook) -> list[str]:
    best = playbook.max_intent()
    decay = playbook.default_half_life_days
    lines = [
        "## Intent signals",
        "",
        "Points decay by half every half-life "
        + (f"(default {_num(decay)} days)" if decay else "(no decay unless a rule says so)")
        + "; a cap limits a signal's total. The intent score never goes below 0"
        + ("." if best is None else f" and cannot exceed {_num(best)}."),
        "",
    ]
    header = ("Signal", "Counts", "Points", "Scored", "Cap", "Half-life", "Id")
    positive = [s for s in playbook.signals if s.points > 0]
    negative = [s for s in playbook.signals if s.points < 0]
    lines += table(header, _signal_rows(playbook, positive)) if positive else ["None.", ""]
    lines += ["### Frequency bonuses", ""]
    if playbook.bonuses:
        bonus_header = ("Bonus", "Counts", "Needs", "Points", "Half-life", "Id")
        lines += table(bonus_header, _bonus_rows(playbook, playbook.bonuses))
    else:
        lines += ["None.", ""]
    lines += ["### Negative signals", ""]
    lines += table(header, _signal_rows(playbook, negative)) if negative else ["None.", ""]
    return lines


def _hard_stops(playbook: Playbook) -> list[str]:
    lines = ["## Hard stops", "", "These disqualify a lead whatever its scores.", ""]
    if not playbook.hard_stops:
        return [*lines, "None.", ""]
    return lines + table(
        ("Hard stop", "Rule", "Reason code", "Id"),
        (
            (h.label, describe(h.condition), f"`{h.reason_code}`", f"`{h.id}`")
            for h in playbook.hard_stops
        ),
    )


_REASON_TITLES = {
    ReasonKind.REJECT: "Rejected (back to nurture)",
    ReasonKind.DISQUALIFY: "Disqualified",
    ReasonKind.LOSE: "Lost",
}


def _reasons(playbook: Playbook) -> list[str]:
    lines = [
        "## Reasons",
        "",
        "Rejecting, disqualifying or losing a lead takes one of these codes (case and spacing "
        "do not matter); anything more goes in the note. Reports count each code once, hard "
        "stops included.",
        "",
    ]
    for kind, title in _REASON_TITLES.items():
        lines += [f"### {title}", ""]
        lines += table(
            ("Reason", "Code"), ((r.label, f"`{r.code}`") for r in playbook.reasons.of(kind))
        )
    return lines


def _sql(playbook: Playbook) -> list[str]:
    sql = playbook.sql
    lines = [
        "## Sales-qualified lead (SQL)",
        "",
        "A lead becomes an SQL once discovery has recorded every answer below (a yes/no "
        "answer must be yes). Discovery that finds no active need sends the lead back to "
        "nurture as recycled from sales (reason `no_active_need`).",
        "",
    ]
    lines += table(
        ("Discovery question", "Answer recorded as"),
        ((r.label, f"`{r.answer}`") for r in sql.requires),
    )
    lines += [f"### {NO_TIMELINE}", ""]
    days = sql.no_timeline_recheck_days
    lines.append(
        "When discovery records a reason instead of a timeline and the SQL answers are not "
        f'all in, the lead stays an MQL with status "{NO_TIMELINE}", is nurtured, and is '
        f"rechecked after {days} days."
    )
    return [*lines, ""]


def _bands(playbook: Playbook) -> list[str]:
    lines = ["## Score bands", "", "The first band whose thresholds a lead meets applies.", ""]
    if not any(b.predicted_at_least is not None for b in playbook.bands):
        return lines + table(
            ("Band", "Fit ≥", "Intent ≥", "Next action"),
            (
                (f"`{b.name}`", _num(b.fit_at_least), _num(b.intent_at_least), b.next_action)
                for b in playbook.bands
            ),
        )
    return lines + table(
        ("Band", "Fit ≥", "Intent ≥", "Predicted conversion ≥", "Next action"),
        (
            (
                f"`{b.name}`",
                _num(b.fit_at_least),
                _num(b.intent_at_least),
                "—" if b.predicted_at_least is None else f"{b.predicted_at_least:.0%}",
                b.next_action,
            )
            for b in playbook.bands
        ),
    )


def _actions(stage: Stage) -> str:
    allowed = ALLOWED_ACTIONS[stage]
    return ", ".join(a.value for a in SalesAction if a in allowed) or "none (final)"


def _stages(playbook: Playbook) -> list[str]:
    lines = ["## Stages and what sales can do", ""]
    return lines + table(
        ("Stage", "Sales actions allowed", "Next action (this playbook)"),
        ((f"`{s.value}`", _actions(s), _next_action(playbook, s)) for s in STAGE_ORDER),
    )


def _next_action(playbook: Playbook, stage: Stage) -> str:
    action = playbook.stage_actions.get(stage) or DEFAULT_STAGE_ACTIONS.get(stage)
    return action or "the score band's next action"


def _intro(playbook: Playbook) -> list[str]:
    lines = [
        f"# {playbook.name} — shared definitions",
        "",
        f"Playbook `{playbook.id}`, version `{playbook.version}`. Generated from the "
        "playbook's rules: change the playbook, not this document.",
        "",
    ]
    if playbook.description:
        lines += [playbook.description.strip(), ""]
    kinds = ", ".join(f"`{t}`" for t in sorted(playbook.lead_types)) or "any"
    lines += ["## Lead types", "", f"This playbook qualifies leads of type: {kinds}.", ""]
    if playbook.page_rules:
        lines += ["## Page categories", "", "Pages without a category are mapped by URL path:", ""]
        lines += table(
            ("URL path", "Category"), ((f"`{r.pattern}`", r.category) for r in playbook.page_rules)
        )
    return lines


def render_definitions(playbook: Playbook) -> str:
    """The Markdown definitions document of ``playbook``."""
    sections = (
        _intro(playbook),
        _mql(playbook),
        _intent(playbook),
        _hard_stops(playbook),
        _reasons(playbook),
        _sql(playbook),
        _bands(playbook),
        routing_section(playbook),
        nurture_section(playbook),
        _stages(playbook),
    )
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"
