"""Which playbook decides a lead that names none: a deployment's rules, first match wins.

The rules are data (the deployment file, ``leadflow.yaml``); choosing is a pure function of
the lead's profile. A decision says how its playbook came to judge the lead: a 0-point
reason ``playbook.chosen`` names the rule that chose it, and a 0-point warning
``playbook.lead_type_mismatch`` says when the playbook is not written for the lead's type
(the playbook still decides: a named playbook is never overridden).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from leadflow.domain.decision import Decision, Reason
from leadflow.domain.playbook import Playbook
from leadflow.domain.profile import LeadProfile

DEFAULT_RULE = "default"
CHOSEN_RULE = "playbook.chosen"
MISMATCH_RULE = "playbook.lead_type_mismatch"
_SEPARATORS = re.compile(r"[\s\-/]+")


def choice_key(value: object) -> str:
    """How a rule compares a value: case-folded, spaces and hyphens as ``_``
    (``Sleep Medicine`` and ``sleep-medicine`` are ``sleep_medicine``)."""
    return _SEPARATORS.sub("_", str(value).strip().casefold())


@dataclass(frozen=True)
class ChoiceRule:
    """Leads whose every given field has one of the listed values go to ``playbook``
    (a field not given matches any lead)."""

    id: str
    playbook: str
    lead_types: frozenset[str] | None = None
    service_lines: frozenset[str] | None = None
    sources: frozenset[str] | None = None

    def matches(self, profile: LeadProfile) -> bool:
        wanted = (
            (self.lead_types, profile.lead_type),
            (self.service_lines, profile.service_line),
            (self.sources, profile.source),
        )
        return all(
            values is None or (value is not None and choice_key(value) in values)
            for values, value in wanted
        )


def keys(values: Iterable[str]) -> frozenset[str]:
    """Rule values as :func:`choice_key` compares them."""
    return frozenset(choice_key(v) for v in values)


@dataclass(frozen=True)
class Chosen:
    """The playbook for a lead, and the rule that chose it (``None``: the lead named it)."""

    playbook: str
    rule: str | None


@dataclass(frozen=True)
class PlaybookChoice:
    """The deployment's rules, in order, and the playbook when none matches."""

    rules: tuple[ChoiceRule, ...]
    default: str
    source: str = "leadflow.yaml"

    def choose(self, profile: LeadProfile) -> Chosen:
        """The playbook the lead names, else the first matching rule's, else the default."""
        if profile.playbook:
            return Chosen(profile.playbook, None)
        for rule in self.rules:
            if rule.matches(profile):
                return Chosen(rule.playbook, rule.id)
        return Chosen(self.default, DEFAULT_RULE)

    def playbooks(self) -> list[str]:
        """Every playbook a rule or the default names, in order, once each."""
        return list(dict.fromkeys([*(r.playbook for r in self.rules), self.default]))


def choice_reasons(
    chosen_by: str | None, lead_type: str | None, playbook: Playbook
) -> list[Reason]:
    """0-point reasons: which rule chose the playbook; whether it is not for the lead's type."""
    reasons = []
    if chosen_by is not None:
        how = "no rule matched: the default" if chosen_by == DEFAULT_RULE else f"rule `{chosen_by}`"
        reasons.append(Reason(CHOSEN_RULE, f"Playbook chosen by {how}", 0))
    if lead_type and playbook.lead_types and choice_key(lead_type) not in playbook.lead_types:
        serves = ", ".join(f"`{t}`" for t in sorted(playbook.lead_types))
        label = (
            f"Warning: playbook `{playbook.id}` is written for {serves} leads, "
            f"not lead type `{choice_key(lead_type)}`"
        )
        reasons.append(Reason(MISMATCH_RULE, label, 0))
    return reasons


def with_choice(
    decision: Decision, chosen_by: str | None, lead_type: str | None, playbook: Playbook
) -> Decision:
    """``decision`` with the choice's reasons first (unchanged when there are none)."""
    extra = choice_reasons(chosen_by, lead_type, playbook)
    if not extra:
        return decision
    return replace(decision, reasons=(*extra, *decision.reasons))
