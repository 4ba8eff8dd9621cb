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
from typing import Any, Protocol

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


# Decision reasons whose label quotes what a person typed (a rejection, loss or
# disqualification reason, why there is no timeline); every other label is the playbook's.
TYPED_RULES = frozenset(
    {"sales.sales_rejected", "sales.closed_lost", "sales.disqualified", "sql.no_timeline"}
)


def _scanned(value: Any, scanner: TextScanner, identity: Identity) -> Any:
    return scanner.scan(value, identity).text if isinstance(value, str) else value


def shown_reasons(
    reasons: list[dict[str, Any]], scanner: TextScanner, identity: Identity
) -> list[dict[str, Any]]:
    """Reasons with the labels that quote a person's words scanned."""
    return [
        {**r, "label": _scanned(r.get("label"), scanner, identity)}
        if r.get("rule") in TYPED_RULES
        else r
        for r in reasons
    ]


def shown_decision(
    record: dict[str, Any], scanner: TextScanner, identity: Identity
) -> dict[str, Any]:
    """A decision record (or a stage-history entry) as a role below intake sees it: its
    status, disqualification reason and the labels that quote a person's words scanned."""
    out = dict(record)
    for name in ("status", "disqualification_reason"):
        if name in out:
            out[name] = _scanned(out[name], scanner, identity)
    if isinstance(out.get("reasons"), list):
        out["reasons"] = shown_reasons(out["reasons"], scanner, identity)
    return out


def shown_mapping(
    values: Mapping[str, Any], scanner: TextScanner, identity: Identity
) -> dict[str, Any]:
    """A mapping whose keys are free text too (a form's question as a field name): each
    key scanned, and each string value scanned."""
    return {
        scanner.scan(str(k), identity).text: _scanned(v, scanner, identity)
        for k, v in values.items()
    }


def shown_view(view: dict[str, Any], scanner: TextScanner, identity: Identity) -> dict[str, Any]:
    """The parts of a lead's record, beyond its free-text values, that may quote a person:
    the decision and stage history (reasons typed by reps), consent evidence (the page a
    consent was given on), field names (a form's question as a key) and manual assignment
    reasons — scanned for a role below intake."""
    out = dict(view)
    if out.get("decision") is not None:
        out["decision"] = shown_decision(out["decision"], scanner, identity)
    out["stage_history"] = [shown_decision(h, scanner, identity) for h in view["stage_history"]]
    out["consents"] = [
        {**c, "evidence": shown_mapping(c.get("evidence") or {}, scanner, identity)}
        for c in view["consents"]
    ]
    out["timeline"] = [
        {**e, "properties": shown_mapping(e["properties"] or {}, scanner, identity)}
        for e in view["timeline"]
    ]
    profile = dict(view["profile"])
    if profile.get("custom"):
        profile["custom"] = shown_mapping(profile["custom"], scanner, identity)
    out["profile"] = profile
    out["assignments"] = [
        {**a, "reason": _scanned(a.get("reason"), scanner, identity)} for a in view["assignments"]
    ]
    return out


@dataclass(frozen=True)
class Redactor:
    """How one reader sees text derived from a person's words: as written (no scanner) or
    scanned (a role below intake; webhooks and reports always)."""

    scanner: TextScanner | None = None
    identity: Identity = field(default_factory=Identity)

    def text(self, value: Any) -> Any:
        if self.scanner is None:
            return value
        return _scanned(value, self.scanner, self.identity)

    def decision(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.scanner is None:
            return record
        return shown_decision(record, self.scanner, self.identity)


AS_WRITTEN = Redactor()
