"""Demo data: the reason a simulated rep gives, always a code the lead's playbook declares.

Each situation names the codes that fit it (an eligibility check that fails: insurance not
accepted for a patient, intake requirements for a referring practice, a different problem
for a B2B buyer); the codes the playbook does not declare are dropped. With none left, the
rep picks among the declared codes of that kind, an earlier one more often (the lists put
the common reasons first), never `other` while another exists — so the reports' Pareto has
a head and a tail.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from leadflow.domain.reasons import ReasonCatalog, ReasonKind

OTHER = "other"

# What fits a failed eligibility check, and a disqualification at the first review, per
# lead type (codes a playbook does not declare are skipped).
ELIGIBILITY_FAILED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "patient": ("insurance_not_accepted",),
        "referral_partner": ("intake_requirements_not_met",),
        "b2b": ("different_problem",),
    }
)
DISQUALIFIED_AT_REVIEW: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "patient": ("insurance_not_accepted", "outside_service_scope", "out_of_coverage_area"),
        "referral_partner": ("different_specialty", "not_decision_role", "out_of_coverage_area"),
        "b2b": ("different_problem", "not_decision_role", "timing_far_out"),
    }
)


def pick_reason(
    catalog: ReasonCatalog, kind: ReasonKind, rng: random.Random, fitting: Sequence[str] = ()
) -> str:
    """A declared code of ``kind``: one of ``fitting`` that the playbook declares (the only
    one without drawing), else a draw weighted towards the codes declared first."""
    declared = catalog.codes(kind)
    wanted = [code for code in fitting if code in declared]
    if len(wanted) == 1:
        return wanted[0]
    if wanted:
        return rng.choice(wanted)
    codes = [code for code in declared if code != OTHER] or declared
    weights = [len(codes) - position for position in range(len(codes))]
    return rng.choices(codes, weights=weights)[0]
