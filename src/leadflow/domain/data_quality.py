"""Data-quality checks: a disposable email address, a ZIP code in another state, a test or
junk name. Each is a fact (``quality.disposable_email`` …) that rules may test, and the
playbook's ``data_quality:`` section makes it a warning (a reason with 0 points in the
decision, the stage unchanged) or a hard stop (disqualified with the gate's reason code).

The checks read the profile as normalised (:mod:`leadflow.domain.normalise`) and the
reference data the playbook was loaded with; labels never quote the values checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leadflow.domain.normalise import ReferenceData, fold
from leadflow.domain.profile import LeadProfile


class Check(StrEnum):
    """The data-quality checks a playbook can turn on."""

    DISPOSABLE_EMAIL = "disposable_email"
    ZIP_STATE_MISMATCH = "zip_state_mismatch"
    JUNK_NAME = "junk_name"

    @property
    def fact(self) -> str:
        return f"quality.{self.value}"


class Action(StrEnum):
    """What a failed check does."""

    WARN = "warn"
    HARD_STOP = "hard_stop"


DEFAULT_LABELS: dict[Check, str] = {
    Check.DISPOSABLE_EMAIL: "Email address at a disposable-address provider",
    Check.ZIP_STATE_MISMATCH: "ZIP code belongs to another state than the one given",
    Check.JUNK_NAME: "Name looks like a test or junk entry",
}
QUALITY_FIELDS: tuple[str, ...] = tuple(c.fact for c in Check)


@dataclass(frozen=True)
class QualityGate:
    """One check the playbook turned on: what it does and the reason code it carries."""

    check: Check
    action: Action
    reason_code: str
    label: str

    @property
    def rule(self) -> str:
        return f"data_quality.{self.check.value}"


# Whole names (first and last, folded) and single name parts that are placeholders.
_JUNK_NAMES = frozenset(
    fold(n)
    for n in (
        "mickey mouse",
        "minnie mouse",
        "donald duck",
        "john doe",
        "jane doe",
        "test test",
        "first last",
        "firstname lastname",
        "foo bar",
    )
)
_JUNK_PARTS = frozenset(
    {"test", "testing", "tester", "asdf", "asdfasdf", "qwerty", "qwer", "zxcv", "jkl"}
    | {"xxx", "xxxx", "abc", "abcd", "null", "none", "unknown", "fake", "dummy", "noname"}
)
_US = frozenset({"US", None})


def _junk_part(part: str) -> bool:
    folded = fold(part)
    if not folded or not any(ch.isalpha() for ch in folded):
        return True  # only digits or punctuation
    if folded in _JUNK_PARTS:
        return True
    return len(folded) >= 3 and len(set(folded)) == 1  # "aaaa"


def junk_name(first: str | None, last: str | None) -> bool:
    """A test or placeholder name: a known one ("Mickey Mouse"), or every part given is a
    placeholder word ("test", "asdf"), has no letters, repeats one letter ("aaaa") or is a
    single letter ("D", "D X"). One real-looking part keeps the name ("Riley Test": Test is
    a surname too). No name is not junk."""
    parts = [p for p in (first, last) if p and p.strip()]
    if not parts:
        return False
    if fold(" ".join(parts)) in _JUNK_NAMES:
        return True
    return all(_junk_part(p) or len(fold(p)) == 1 for p in parts)


def disposable_email(email: str | None, reference: ReferenceData) -> bool:
    """Whether the address's domain (or a parent domain) is a disposable-address provider."""
    if not email or "@" not in email:
        return False
    labels = email.rsplit("@", 1)[1].strip().casefold().rstrip(".").split(".")
    return any(reference.disposable_domain(".".join(labels[i:])) for i in range(len(labels) - 1))


def zip_state_mismatch(profile: LeadProfile, reference: ReferenceData) -> bool:
    """A US lead whose ZIP code is a real one of another state than its (read) state."""
    if profile.country not in _US or not profile.state or not profile.postal_code:
        return False
    zip_state = reference.zip_state(profile.postal_code)
    return zip_state is not None and zip_state != profile.state.upper()


def quality_fact(check: Check, profile: LeadProfile, reference: ReferenceData) -> bool:
    """One check on a (normalised) profile."""
    if check is Check.DISPOSABLE_EMAIL:
        return disposable_email(profile.email, reference)
    if check is Check.ZIP_STATE_MISMATCH:
        return zip_state_mismatch(profile, reference)
    return junk_name(profile.first_name, profile.last_name)
