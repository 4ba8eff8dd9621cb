"""Whole-playbook checks of how values are read: synonyms and data-quality gates.

- A synonym names a value the playbook's rules test on that field (a condition's
  ``equals``/``in``/``not_in``…, or a nurture track's ``service_lines``): a synonym for a
  value no rule uses reads leads into a value that means nothing.
- One variant means one value: two values sharing a variant (compared folded, as leads are
  read: case, spaces, dots and hyphens ignored) is ambiguous.
- A data-quality gate's reason is a declared ``disqualify`` code (a warning's too: it is the
  code a rep disqualifies with once the warning is confirmed).
"""

from __future__ import annotations

from collections.abc import Iterator

from leadflow.adapters.playbook_yaml.issues import Issue, NodePath, did_you_mean, one_of
from leadflow.domain.conditions import AllOf, AnyOf, Condition, FieldTest, Not, Op
from leadflow.domain.normalise import fold
from leadflow.domain.playbook import Playbook
from leadflow.domain.reasons import ReasonKind

_VALUE_OPS = frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN})


def _tests(condition: Condition | None) -> Iterator[FieldTest]:
    if isinstance(condition, FieldTest):
        yield condition
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from _tests(part)
    elif isinstance(condition, Not):
        yield from _tests(condition.part)


def _conditions(playbook: Playbook) -> Iterator[Condition | None]:
    yield from (c.condition for c in playbook.fit)
    yield from (h.condition for h in playbook.hard_stops)
    yield from (f.condition for f in playbook.mql.fast_track)
    yield from (r.condition for r in playbook.routes)


def tested_values(playbook: Playbook) -> dict[str, set[str]]:
    """Field → the text values the playbook's rules compare it with."""
    found: dict[str, set[str]] = {}
    for condition in _conditions(playbook):
        for test in _tests(condition):
            if test.op in _VALUE_OPS:
                values = (v for v in test.values if isinstance(v, str))
                found.setdefault(test.field, set()).update(values)
    for track in playbook.tracks:
        found.setdefault("service_line", set()).update(track.service_lines or ())
    return found


def _variant_issues(
    name: str, value: str, variants: tuple[str, ...], seen: dict[str, str]
) -> list[Issue]:
    issues: list[Issue] = []
    for i, variant in enumerate((value, *variants)):
        first = seen.setdefault(fold(variant), value)
        if first != value:
            at: NodePath = ("synonyms", name, value) if i == 0 else ("synonyms", name, value, i - 1)
            issues.append(
                Issue(
                    at,
                    f"`{variant}` already means `{first}` for {name}: one variant, one value",
                    f"keep `{variant}` under `{first}` only",
                )
            )
    return issues


def check_synonyms(playbook: Playbook) -> list[Issue]:
    """Every synonym's value is tested by a rule; no variant means two values."""
    issues: list[Issue] = []
    tested = tested_values(playbook)
    for name, values in playbook.synonyms.declared.items():
        known = sorted(tested.get(name, set()))
        folded = {k.casefold() for k in known}
        seen: dict[str, str] = {}
        for value, variants in values.items():
            if value.casefold() not in folded:
                hint = did_you_mean(value, known) or (
                    f"{one_of(known)} (the values the rules test on {name})"
                    if known
                    else f"no rule tests {name}; remove `synonyms.{name}` or add the rule"
                )
                message = f"`{value}` is not a value any rule tests on {name}"
                issues.append(Issue(("synonyms", name, value), message, hint))
            issues += _variant_issues(name, value, variants, seen)
    return issues


def check_data_quality(playbook: Playbook) -> list[Issue]:
    """Each gate's reason is a declared disqualify code."""
    disqualify = playbook.reasons.codes(ReasonKind.DISQUALIFY)
    issues: list[Issue] = []
    for gate in playbook.data_quality:
        if gate.reason_code not in disqualify:
            hint = did_you_mean(gate.reason_code, disqualify) or (
                f"add `- {{code: {gate.reason_code}, label: …}}` under reasons.disqualify"
            )
            message = f"reason `{gate.reason_code}` is not a declared disqualify code"
            at: NodePath = ("data_quality", gate.check.value, "reason")
            issues.append(Issue(at, message, hint))
    return issues
