"""How the reports read a stored reason: as a code of the lead's playbook, with its label.

Every reason stored since reasons are codes is a declared code (the store refuses any
other), and reads as itself with the playbook's label. A reason stored before — free text
from an older store — reads as the declared code it names when it names one ("Not ready" →
``not_ready``), so old and new rows of one reason are one row. Anything else keeps a row of
its own: its text scanned like any free text (reports are read by every role), normalised
the same way, and labelled ``other: …``. A missing reason is ``(none)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from leadflow.domain.reasons import ReasonCatalog, normalise_reason
from leadflow.errors import PlaybookError, PlaybookNotFoundError
from leadflow.services.redaction import AS_WRITTEN, Redactor
from leadflow.services.store.ports import PlaybookLookup

NO_REASON_CODE = "(none)"
OTHER_PREFIX = "other: "


@dataclass(frozen=True)
class ReasonFact:
    """A reason as a report counts it: the code (a row) and its label."""

    code: str
    label: str


NO_REASON = ReasonFact(NO_REASON_CODE, "no reason given")
Catalogs = Callable[[str], ReasonCatalog | None]


class ReasonReader:
    """Reads stored reasons for one report; ``problems`` says which playbooks could not be
    loaded (their leads' reasons read as undeclared, and the report notes it)."""

    def __init__(self, catalogs: Catalogs, shown: Redactor = AS_WRITTEN) -> None:
        self._catalogs = catalogs
        self._shown = shown
        self._cache: dict[str, ReasonCatalog | None] = {}

    def _catalog(self, playbook: str) -> ReasonCatalog | None:
        if playbook not in self._cache:
            self._cache[playbook] = self._catalogs(playbook)
        return self._cache[playbook]

    @property
    def problems(self) -> list[str]:
        return [
            f"reasons of playbook `{name}` are read as undeclared: it cannot be loaded"
            for name, catalog in sorted(self._cache.items())
            if catalog is None
        ]

    def read(self, playbook: str, stored: object) -> ReasonFact:
        """The reason ``stored`` of a lead of ``playbook`` as a report counts it (any
        stored value reads as text: a report never fails on an old row)."""
        text = "" if stored is None else str(stored)
        if not text.strip():
            return NO_REASON
        catalog = self._catalog(playbook)
        declared = None if catalog is None else catalog.find(text)
        if declared is not None:
            return ReasonFact(declared.code, declared.label)
        code = normalise_reason(str(self._shown.text(text)))
        return ReasonFact(code, OTHER_PREFIX + code)


def playbook_reasons(playbooks: PlaybookLookup) -> Catalogs:
    """Each playbook's declared reasons, ``None`` for one that cannot be loaded (a lead may
    name a playbook removed since: its reasons still count, as undeclared)."""

    def find(name: str) -> ReasonCatalog | None:
        try:
            return playbooks(name).reasons
        except (PlaybookNotFoundError, PlaybookError):
            return None

    return find
