"""Who is the same person: the matching rules, and which value a merge keeps.

The rules are data (:data:`MATCH_RULES`), read in one place by the intake service:

- an email or a source's external id names one person: a record carrying it *is* that lead;
- a phone is shared by households (a caregiver and a patient, spouses): it matches only when
  the two records do not contradict each other (:func:`contradictions`: a first or last name
  that differs, or another email); otherwise the record is a lead of its own, linked to the
  other as ``household``.

When records are merged or updated, :func:`weaker` says which offered values must not replace
the stored one silently: a name that only abbreviates the stored one (``D`` for ``Dana``) and
an email or phone that is not valid where the stored one is.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.domain.profile import LeadProfile, looks_like_email, looks_like_phone

HOUSEHOLD = "household"


@dataclass(frozen=True)
class MatchRule:
    """How one kind of identity matches: ``needs_agreement``: only when the records do not
    contradict each other (else the leads are linked as ``relation``)."""

    kind: str  # "external" | "email" | "phone" (``IdentityKey.kind``)
    needs_agreement: bool
    relation: str | None = None


MATCH_RULES: tuple[MatchRule, ...] = (
    MatchRule("external", needs_agreement=False),
    MatchRule("email", needs_agreement=False),
    MatchRule("phone", needs_agreement=True, relation=HOUSEHOLD),
)
RULES_BY_KIND = {rule.kind: rule for rule in MATCH_RULES}

_NAMES = ("first_name", "last_name")


def _fold(value: str) -> str:
    return " ".join(value.replace(".", " ").split()).casefold()


def names_agree(one: str, other: str) -> bool:
    """Equal ignoring case, dots and spaces, or one is the other's initial (``D`` / ``Dana``)."""
    a, b = _fold(one), _fold(other)
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) == 1 and long.startswith(short)


def contradictions(one: LeadProfile, other: LeadProfile) -> list[str]:
    """The fields on which two records name different people (names, email); empty when
    either lacks the field."""
    found = []
    for name in _NAMES:
        a, b = getattr(one, name), getattr(other, name)
        if a and b and not names_agree(a, b):
            found.append(name)
    if one.email and other.email and one.email.casefold() != other.email.casefold():
        found.append("email")
    return found


def weaker(name: str, stored: object, offered: object) -> bool:
    """Whether ``offered`` must not silently replace ``stored`` for field ``name``: a name
    that abbreviates the stored one (shorter, and its start), or an email or phone that is
    not valid where the stored one is."""
    if not isinstance(stored, str) or not isinstance(offered, str) or not stored:
        return False
    if name in _NAMES:
        a, b = _fold(offered), _fold(stored)
        return len(a) < len(b) and b.startswith(a)
    if name == "email":
        return looks_like_email(stored) and not looks_like_email(offered)
    if name == "phone":
        return looks_like_phone(stored) and not looks_like_phone(offered)
    return False
