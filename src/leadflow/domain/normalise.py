"""Reading a profile's values before any rule sees them: states, countries, synonyms.

A lead says ``Massachusetts``, ``Mass.`` or ``ma``; a rule tests ``state in [MA]``. The
engine reads every profile through :func:`normalise_profile` first, so that a spelling never
decides a stage, and each value it changed is a :class:`Reading` that the decision shows
("state `Massachusetts` read as MA"). The stored profile keeps what was sent: a stored lead
re-decided later is read the same way, under the playbook of that decision.

Reference tables (US states, ISO 3166 countries, ZIP codes, disposable email domains) come
from packages loaded by an adapter and are handed in as :class:`ReferenceData`; the domain
only knows their shape. Synonyms are the playbook's own (``synonyms:`` in its YAML).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from leadflow.domain.profile import LeadProfile

# The profile fields a playbook may declare synonyms for.
SYNONYM_FIELDS: tuple[str, ...] = (
    "service_line",
    "specialty",
    "org_type",
    "role",
    "source",
    "channel",
)


def fold(text: str) -> str:
    """``text`` case-folded with everything but letters and digits dropped: the key that
    ``Sleep Medicine``, ``sleep-medicine`` and ``sleep_medicine`` (or ``N.H.`` and ``nh``)
    share."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


class ReferenceData(Protocol):
    """Reference tables from packages, looked up by the engine (an adapter implements it)."""

    def state_code(self, text: str) -> str | None:
        """The two-letter USPS code for a state, territory or DC name or abbreviation."""

    def country_code(self, text: str) -> str | None:
        """The ISO 3166-1 alpha-2 code for a country name or code."""

    def zip_state(self, postal_code: str) -> str | None:
        """The state a US ZIP code (five digits, or ZIP+4) belongs to, if it is a real one."""

    def disposable_domain(self, domain: str) -> bool:
        """Whether an email domain belongs to a disposable-address provider."""


class NoReferenceData:
    """Reference data that knows nothing: only synonyms normalise (playbooks built in code)."""

    def state_code(self, text: str) -> str | None:
        return None

    def country_code(self, text: str) -> str | None:
        return None

    def zip_state(self, postal_code: str) -> str | None:
        return None

    def disposable_domain(self, domain: str) -> bool:
        return False


NO_REFERENCE_DATA: ReferenceData = NoReferenceData()


@dataclass(frozen=True)
class Synonyms:
    """Per field, the values a playbook's rules use and the variants that mean each one.

    ``declared`` keeps the YAML's shape (field → value → variants) for checks and documents;
    ``lookup`` (derived) maps the folded form of every variant, and of each value itself, to
    the value.
    """

    declared: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    lookup: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    @classmethod
    def of(cls, declared: Mapping[str, Mapping[str, tuple[str, ...]]]) -> Synonyms:
        """Synonyms with their lookup; a later variant never replaces an earlier one (the
        playbook check reports a variant given to two values)."""
        lookup: dict[str, Mapping[str, str]] = {}
        for name, values in declared.items():
            table: dict[str, str] = {}
            for value, variants in values.items():
                table.setdefault(fold(value), value)
                for variant in variants:
                    table.setdefault(fold(variant), value)
            lookup[name] = MappingProxyType(table)
        frozen = {name: MappingProxyType(dict(values)) for name, values in declared.items()}
        return cls(MappingProxyType(frozen), MappingProxyType(lookup))

    def value(self, name: str, text: str) -> str | None:
        """The declared value ``text`` means for field ``name``, if any."""
        table = self.lookup.get(name)
        return None if table is None else table.get(fold(text))


NO_SYNONYMS = Synonyms()


@dataclass(frozen=True)
class Reading:
    """One value the engine read differently from how it was written."""

    field: str
    original: str
    value: str

    @property
    def rule(self) -> str:
        return f"normalised.{self.field}"

    @property
    def label(self) -> str:
        return f"{self.field} `{self.original}` read as {self.value}"


def _read(name: str, text: str | None, synonyms: Synonyms, ref: ReferenceData) -> str | None:
    if text is None:
        return None
    if name == "state":
        return ref.state_code(text)
    if name == "country":
        return ref.country_code(text)
    return synonyms.value(name, text)


_READ_FIELDS: tuple[str, ...] = ("state", "country", *SYNONYM_FIELDS)


def normalise_profile(
    profile: LeadProfile, synonyms: Synonyms, reference: ReferenceData
) -> tuple[LeadProfile, tuple[Reading, ...]]:
    """``profile`` with its state, country and synonym fields read as the rules expect, and
    each change made. Reading the result again changes nothing (idempotent)."""
    changes: dict[str, str] = {}
    readings: list[Reading] = []
    for name in _READ_FIELDS:
        original: str | None = getattr(profile, name)
        value = _read(name, original, synonyms, reference)
        if original is not None and value is not None and value != original:
            changes[name] = value
            readings.append(Reading(name, original, value))
    if not changes:
        return profile, ()
    return profile.with_updates(changes), tuple(readings)
