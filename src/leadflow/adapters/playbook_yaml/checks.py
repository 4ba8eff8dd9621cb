"""Whole-playbook checks, run on the compiled playbook: can every rule ever apply?

Each check returns issues at the YAML path of the rule at fault (the compiled playbook
keeps the order of the file, so list indexes are the same), each with a fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from leadflow.adapters.playbook_yaml.checks_values import check_data_quality, check_synonyms
from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, did_you_mean, dotted, one_of
from leadflow.domain.conditions import AllOf, Condition, FieldTest, Op
from leadflow.domain.nurture import (
    CONFIRMATION_FIELDS,
    TEMPLATE_FIELDS,
    placeholders,
    template_claims,
)
from leadflow.domain.playbook import Playbook, Queue, Template
from leadflow.domain.reasons import ReasonKind

RESERVED_PREFIXES = ("mql.", "sql.", "sales.", "model.", "normalised.", "data_quality.")
_MQL: NodePath = ("stages", "mql")


def _rule_ids(playbook: Playbook) -> Iterator[tuple[NodePath, str]]:
    for i, c in enumerate(playbook.fit):
        yield ("fit", i, "id"), c.id
    for i, s in enumerate(playbook.signals):
        yield ("intent", "signals", i, "id"), s.id
    for i, b in enumerate(playbook.bonuses):
        yield ("intent", "bonuses", i, "id"), b.id
    for i, h in enumerate(playbook.hard_stops):
        yield ("hard_stops", i, "id"), h.id
    for i, f in enumerate(playbook.mql.fast_track):
        yield (*_MQL, "fast_track", i, "id"), f.id


def _duplicates(items: Sequence[tuple[NodePath, str]], what: str) -> list[Issue]:
    seen: dict[str, NodePath] = {}
    issues: list[Issue] = []
    for path, value in items:
        if value in seen:
            message = f"{what} `{value}` is already used at {dotted(seen[value][:-1])}"
            issues.append(Issue(path, message, f"rename one of them; each {what} must be unique"))
        else:
            seen[value] = path
    return issues


def check_ids(playbook: Playbook) -> list[Issue]:
    """Rule ids are unique across the playbook and avoid the engine's own prefixes."""
    ids = list(_rule_ids(playbook))
    issues = _duplicates(ids, "id")
    issues += [
        Issue(
            path,
            f"id `{value}` uses a prefix reserved for the engine's own reasons",
            "start the id with something other than `mql.`, `sql.` or `sales.`",
        )
        for path, value in ids
        if value.startswith(RESERVED_PREFIXES)
    ]
    bands = [(("bands", i, "name"), b.name) for i, b in enumerate(playbook.bands)]
    queues = [(("routing", "queues", i, "id"), q.id) for i, q in enumerate(playbook.queues)]
    return issues + _duplicates(bands, "band name") + _duplicates(queues, "queue id")


def check_mql_reachable(playbook: Playbook) -> list[Issue]:
    """The MQL thresholds are within the highest scores a lead can reach."""
    issues: list[Issue] = []
    gate, best_fit, best_intent = playbook.mql, playbook.max_fit(), playbook.max_intent()
    if gate.fit_at_least > best_fit:
        issues.append(
            Issue(
                (*_MQL, "fit_at_least"),
                f"MQL needs fit ≥ {gate.fit_at_least:g} but the most any lead can score is "
                f"{best_fit:g}",
                f"lower fit_at_least to at most {best_fit:g} or add fit points",
            )
        )
    if best_intent is not None and gate.intent_at_least > best_intent and not gate.fast_track:
        issues.append(
            Issue(
                (*_MQL, "intent_at_least"),
                f"MQL needs intent ≥ {gate.intent_at_least:g} but the most any lead can score "
                f"is {best_intent:g}",
                f"lower intent_at_least to at most {best_intent:g}, raise signal caps, "
                "or add a fast track",
            )
        )
    return issues


def _required_values(condition: Condition) -> dict[str, frozenset[object]]:
    """Field → the only values a lead can have when ``condition`` holds (equals/in)."""
    if isinstance(condition, FieldTest) and condition.op in (Op.EQUALS, Op.IN):
        norm = (v.strip().casefold() if isinstance(v, str) else v for v in condition.values)
        return {condition.field: frozenset(norm)}
    if isinstance(condition, AllOf):
        found: dict[str, frozenset[object]] = {}
        for part in condition.parts:
            for name, values in _required_values(part).items():
                found[name] = found[name] & values if name in found else values
        return found
    return {}


def check_must_haves(playbook: Playbook) -> list[Issue]:
    """No two must-haves require values of one field that can never both hold."""
    issues: list[Issue] = []
    musts = [(i, c, _required_values(c.condition)) for i, c in enumerate(playbook.fit)]
    musts = [m for m in musts if m[1].must_have]
    for n, (j, later, later_values) in enumerate(musts):
        for _, earlier, earlier_values in musts[:n]:
            clash = sorted(
                f
                for f in later_values.keys() & earlier_values.keys()
                if not later_values[f] & earlier_values[f]
            )
            if clash:
                issues.append(
                    Issue(
                        ("fit", j, "when"),
                        f"MQL cannot be reached: must-haves `{earlier.id}` and `{later.id}` "
                        f"can never both hold (they need different values of `{clash[0]}`)",
                        "make one of them a nice-to-have (must_have: false) or merge them",
                    )
                )
                break
    return issues


def _predicted_covers(earlier: float | None, later: float | None) -> bool:
    """Whether the earlier band's predicted-conversion test admits every lead the later's does."""
    return earlier is None or (later is not None and earlier <= later)


def check_bands(playbook: Playbook) -> list[Issue]:
    """At least one band, the last a catch-all, and every band can apply to some lead."""
    bands = playbook.bands
    if not bands:
        return [Issue(("bands",), "at least one band is needed", "add a band with no thresholds")]
    issues: list[Issue] = []
    last = bands[-1]
    if last.fit_at_least > 0 or last.intent_at_least > 0 or last.predicted_at_least is not None:
        issues.append(
            Issue(
                ("bands", len(bands) - 1),
                f"the last band `{last.name}` must be a catch-all with no thresholds, so every "
                "lead gets a band",
                "add a final band without fit_at_least, intent_at_least and predicted_at_least",
            )
        )
    best_fit, best_intent = playbook.max_fit(), playbook.max_intent()
    for j, band in enumerate(bands):
        shadow = next(
            (
                b
                for b in bands[:j]
                if b.fit_at_least <= band.fit_at_least
                and b.intent_at_least <= band.intent_at_least
                and _predicted_covers(b.predicted_at_least, band.predicted_at_least)
            ),
            None,
        )
        if shadow is not None:
            issues.append(
                Issue(
                    ("bands", j),
                    f"band `{band.name}` can never apply (band `{shadow.name}` above it already "
                    "matches every lead it would)",
                    f"move `{band.name}` above `{shadow.name}` or remove it",
                )
            )
        elif band.fit_at_least > best_fit or (
            best_intent is not None and band.intent_at_least > best_intent
        ):
            issues.append(
                Issue(
                    ("bands", j),
                    f"band `{band.name}` can never apply: no lead can reach its thresholds "
                    f"(highest fit {best_fit:g}, highest intent "
                    f"{'unbounded' if best_intent is None else f'{best_intent:g}'})",
                    "lower its thresholds or remove it",
                )
            )
    return issues


def check_sql(playbook: Playbook) -> list[Issue]:
    """SQL names at least one discovery answer, each once."""
    path: NodePath = ("stages", "sql", "requires")
    requires = playbook.sql.requires
    if not requires:
        return [
            Issue(
                path,
                "SQL needs at least one discovery answer",
                "add e.g. `- {answer: need_confirmed, label: Need confirmed}`",
            )
        ]
    return _duplicates(
        [((*path, i, "answer"), r.answer) for i, r in enumerate(requires)], "discovery answer"
    )


def check_routing(playbook: Playbook) -> list[Issue]:
    """Every route points to a declared queue with an SLA for its stages; no idle queue."""
    issues: list[Issue] = []
    queues = {q.id: (i, q) for i, q in enumerate(playbook.queues)}
    band_names = [b.name for b in playbook.bands]
    used: set[str] = set()
    for i, rule in enumerate(playbook.routes):
        at: NodePath = ("routing", "rules", i)
        for band in sorted(rule.bands or ()):
            if band not in band_names:
                hint = did_you_mean(band, band_names) or "declare it under `bands`"
                issues.append(Issue((*at, "bands"), f"band `{band}` is not declared", hint))
        if rule.queue not in queues:
            hint = did_you_mean(rule.queue, queues) or "declare it under `routing.queues`"
            issues.append(Issue((*at, "queue"), f"queue `{rule.queue}` is not declared", hint))
            continue
        used.add(rule.queue)
        index, queue = queues[rule.queue]
        for stage in sorted(rule.stages - queue.sla.keys()):
            issues.append(
                Issue(
                    (*at, "stages"),
                    f"queue `{queue.id}` has no SLA for stage `{stage}`",
                    f"add an SLA for `{stage}` under routing.queues[{index}].sla, "
                    f'e.g. `{stage}: "1 business day"`',
                )
            )
        issues += _shadowed(playbook, i)
    for queue_id, (index, _) in queues.items():
        if queue_id not in used:
            issues.append(
                Issue(
                    ("routing", "queues", index),
                    f"queue `{queue_id}` is never used",
                    "remove it, or add a routing rule that sends leads to it",
                )
            )
    return issues


def _shadowed(playbook: Playbook, index: int) -> list[Issue]:
    rule = playbook.routes[index]
    for k, earlier in enumerate(playbook.routes[:index]):
        unconditional = earlier.bands is None and earlier.condition is None
        if unconditional and rule.stages <= earlier.stages:
            return [
                Issue(
                    ("routing", "rules", index),
                    f"this rule never applies: routing.rules[{k}] above it already routes all "
                    "its stages",
                    "move it above that rule or remove it",
                )
            ]
    return []


def check_teams(playbook: Playbook) -> list[Issue]:
    """Teams are unique, their leads are members, members work on open days; queues name a team."""
    issues = _duplicates(
        [(("routing", "teams", i, "id"), t.id) for i, t in enumerate(playbook.teams)], "team id"
    )
    for i, team in enumerate(playbook.teams):
        at: NodePath = ("routing", "teams", i)
        members = [m.id for m in team.members]
        issues += _duplicates(
            [((*at, "members", k, "id"), m) for k, m in enumerate(members)], "member id"
        )
        if team.lead is not None and team.lead not in members:
            hint = did_you_mean(team.lead, members) or "name one of the team's members"
            issues.append(Issue((*at, "lead"), f"team lead `{team.lead}` is not a member", hint))
        open_days = {n for n, day in enumerate(team.hours.week) if day}
        for k, member in enumerate(team.members):
            if member.days is not None and not member.days & open_days:
                issues.append(
                    Issue(
                        (*at, "members", k, "days"),
                        f"member `{member.id}` works only on days the team is closed",
                        "give days on which the team has hours, or add hours for those days",
                    )
                )
    teams = [t.id for t in playbook.teams]
    bands = [b.name for b in playbook.bands]
    for i, queue in enumerate(playbook.queues):
        issues += _queue_issues(queue, ("routing", "queues", i), teams, bands)
    return issues


def _queue_issues(queue: Queue, at: NodePath, teams: list[str], bands: list[str]) -> list[Issue]:
    """A queue names a declared team and bands, and a purpose only for a stage with an SLA."""
    issues = []
    if queue.team is None and teams:
        hint = "add `team:` naming one of " + ", ".join(f"`{t}`" for t in teams)
        issues.append(Issue(at, f"queue `{queue.id}` has no team to assign leads to", hint))
    elif queue.team is not None and queue.team not in teams:
        hint = did_you_mean(queue.team, teams) or "declare it under `routing.teams`"
        issues.append(Issue((*at, "team"), f"team `{queue.team}` is not declared", hint))
    for band in queue.band_sla:
        if band not in bands:
            hint = did_you_mean(band, bands) or "declare it under `bands`"
            issues.append(Issue((*at, "band_sla"), f"band `{band}` is not declared", hint))
    for stage in queue.purposes:
        if stage not in queue.sla:
            hint = f"give `sla: {{{stage.value}: …}}` too, or remove the purpose"
            what = f"stage `{stage.value}` has a purpose but no SLA"
            issues.append(Issue((*at, "purposes"), what, hint))
    return issues


def _template_issues(template: Template, at: NodePath) -> list[Issue]:
    """A template's early-stage claims and placeholders that are not template fields."""
    issues = [
        Issue(
            at,
            f"template `{template.id}` makes a claim about {claim.kind} (`{claim.text}`); "
            "nurture goes to early-stage leads, who never get pricing or eligibility claims",
            "leave prices and eligibility to the sales or intake conversation",
        )
        for claim in template_claims(template)
    ]
    for text in filter(None, (template.subject, template.body)):
        try:
            names = placeholders(text)
        except ValueError as exc:
            hint = "close each `{` placeholder with `}`; write `{{` or `}}` for a brace"
            issues.append(Issue(at, f"template `{template.id}`: {exc}", hint))
            continue
        for name in names:
            if name not in TEMPLATE_FIELDS:
                hint = did_you_mean(name, TEMPLATE_FIELDS) or one_of(TEMPLATE_FIELDS)
                message = f"template `{template.id}` uses `{{{name}}}`, not a template field"
                issues.append(Issue(at, message, hint))
    return issues


def _step_issues(playbook: Playbook) -> list[Issue]:
    """Each track step sends a declared template, with a subject when it is an email."""
    templates = {t.id: t for t in playbook.templates}
    issues = []
    for i, track in enumerate(playbook.tracks):
        for k, step in enumerate(track.steps):
            at: NodePath = ("nurture", "tracks", i, "steps", k, "template")
            used = templates.get(step.template)
            if used is None:
                hint = (
                    did_you_mean(step.template, templates) or "declare it under nurture.templates"
                )
                issues.append(Issue(at, f"template `{step.template}` is not declared", hint))
            elif step.channel == "email" and used.subject is None:
                message = f"template `{used.id}` has no subject, and this step sends an email"
                issues.append(Issue(at, message, f"add `subject:` to template `{used.id}`"))
    return issues


def _confirmation_issues(playbook: Playbook) -> list[Issue]:
    """The form confirmation sends a declared template, by email, naming no care area."""
    if playbook.confirmation is None:
        return []
    at: NodePath = ("nurture", "confirmation", "template")
    name = playbook.confirmation.template
    used = playbook.template(name)
    if used is None:
        templates = [t.id for t in playbook.templates]
        hint = did_you_mean(name, templates) or "declare it under nurture.templates"
        return [Issue(at, f"template `{name}` is not declared", hint)]
    issues = []
    if used.subject is None:
        message = f"template `{name}` has no subject, and the confirmation is an email"
        issues.append(Issue(at, message, f"add `subject:` to template `{name}`"))
    texts = filter(None, (used.subject, used.body))
    for field in sorted({f for text in texts for f in _safe_placeholders(text)}):
        if field in TEMPLATE_FIELDS and field not in CONFIRMATION_FIELDS:
            message = (
                f"template `{name}` uses `{{{field}}}`: a confirmation goes to whoever reads "
                "the inbox, so it names no care area (minimum necessary)"
            )
            fields = ", ".join(f"`{{{f}}}`" for f in CONFIRMATION_FIELDS)
            issues.append(Issue(at, message, f"use only {fields}"))
    return issues


def _safe_placeholders(text: str) -> list[str]:
    """The placeholders of ``text``; none when it is malformed (reported for the template)."""
    try:
        return placeholders(text)
    except ValueError:
        return []


def check_nurture(playbook: Playbook) -> list[Issue]:
    """Tracks and the form confirmation send declared templates with the fields they need,
    and never early-stage claims."""
    issues = _duplicates(
        [(("nurture", "templates", i, "id"), t.id) for i, t in enumerate(playbook.templates)],
        "template id",
    )
    issues += _duplicates(
        [(("nurture", "tracks", i, "id"), t.id) for i, t in enumerate(playbook.tracks)],
        "track id",
    )
    for i, template in enumerate(playbook.templates):
        issues += _template_issues(template, ("nurture", "templates", i))
    return issues + _step_issues(playbook) + _confirmation_issues(playbook)


def check_reasons(playbook: Playbook) -> list[Issue]:
    """Codes are unique within their kind, one code has one label, and every hard stop's
    code is a declared ``disqualify`` reason."""
    issues: list[Issue] = []
    labels: dict[str, tuple[NodePath, str]] = {}
    for kind in ReasonKind:
        at: NodePath = ("reasons", kind.value)
        declared = playbook.reasons.of(kind)
        issues += _duplicates(
            [((*at, i, "code"), r.code) for i, r in enumerate(declared)], f"{kind.value} code"
        )
        for i, reason in enumerate(declared):
            first = labels.setdefault(reason.code, ((*at, i), reason.label))
            if first[0][:2] != at and first[1] != reason.label:
                issues.append(
                    Issue(
                        (*at, i, "label"),
                        f"code `{reason.code}` is labelled differently at {dotted(first[0])}",
                        "give one code one label in every kind, or use another code",
                    )
                )
    disqualify = playbook.reasons.codes(ReasonKind.DISQUALIFY)
    for i, stop in enumerate(playbook.hard_stops):
        if stop.reason_code not in disqualify:
            hint = did_you_mean(stop.reason_code, disqualify) or (
                f"add `- {{code: {stop.reason_code}, label: …}}` under reasons.disqualify"
            )
            message = f"reason `{stop.reason_code}` is not a declared disqualify code"
            issues.append(Issue(("hard_stops", i, "reason"), message, hint))
    return issues


CHECKS: tuple[Callable[[Playbook], list[Issue]], ...] = (
    check_ids,
    check_mql_reachable,
    check_must_haves,
    check_bands,
    check_sql,
    check_routing,
    check_teams,
    check_nurture,
    check_reasons,
    check_synonyms,
    check_data_quality,
)


def check_playbook(playbook: Playbook) -> list[Issue]:
    """Every whole-playbook issue, in check order."""
    return [issue for check in CHECKS for issue in check(playbook)]
