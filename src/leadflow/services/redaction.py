"""Free text scanned when it arrives, and the redacted copies shown to roles below intake.

The scanner itself (vocabularies, matching) is an adapter behind :class:`TextScanner`. A
stored lead row and each stored event keep, beside what was written, ``redacted``: the
free-text values whose scan replaced something, by name (``{}`` when nothing was found,
``None`` for rows stored before scanning existed). What is shown is that copy scanned once
more with the lead's current identity (:func:`shown`), so nothing depends on the copy alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from leadflow.domain.free_text import CLINICAL, Marker, free_properties
from leadflow.domain.profile import LeadProfile


@dataclass(frozen=True)
class Identity:
    """The lead's own name, emails and phones: what the scanner redacts as personal."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, *profiles: LeadProfile) -> Identity:
        names = {n for p in profiles for n in (p.first_name, p.last_name) if n}
        emails = {p.email for p in profiles if p.email}
        phones = {p.phone for p in profiles if p.phone}
        return cls(tuple(sorted(names)), tuple(sorted(emails)), tuple(sorted(phones)))


@dataclass(frozen=True)
class Scan:
    """A text with its finds replaced by markers, and which markers were used."""

    text: str
    found: frozenset[Marker] = field(default_factory=frozenset)

    @property
    def clinical(self) -> bool:
        return bool(self.found & CLINICAL)


class TextScanner(Protocol):
    """Finds a person's details and clinical terms in free text, offline."""

    def scan(self, text: str, identity: Identity) -> Scan: ...


def profile_free_text(profile: LeadProfile) -> dict[str, str]:
    """The profile's free-text values by field name (``notes``, ``custom.X``)."""
    found = {"notes": profile.notes} if profile.notes else {}
    found.update({f"custom.{k}": v for k, v in profile.custom.items() if v})
    return found


def _changed(values: Mapping[str, str], scanner: TextScanner, identity: Identity) -> dict[str, str]:
    redacted = {}
    for name, text in values.items():
        scan = scanner.scan(text, identity)
        if scan.text != text:
            redacted[name] = scan.text
    return redacted


def redact_profile(
    profile: LeadProfile, scanner: TextScanner, identity: Identity
) -> dict[str, str]:
    """The profile's free-text fields whose scan changed them, redacted."""
    return _changed(profile_free_text(profile), scanner, identity)


def redact_properties(
    event_type: str, properties: Mapping[str, object], scanner: TextScanner, identity: Identity
) -> dict[str, str]:
    """An event's free-text properties whose scan changed them, redacted."""
    return _changed(free_properties(event_type, properties), scanner, identity)


def shown(
    values: Mapping[str, str],
    stored: Mapping[str, str] | None,
    scanner: TextScanner,
    identity: Identity,
) -> dict[str, str]:
    """What a role below intake sees of free-text ``values``: the copy redacted at ingest
    (``stored``), scanned again with the lead's current name, email and phone — so a name
    that arrived later, or a term the vocabulary learned since, is redacted too."""
    return {
        name: scanner.scan((stored or {}).get(name, text), identity).text
        for name, text in values.items()
    }
