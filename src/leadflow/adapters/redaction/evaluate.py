"""Precision and recall of the scanner on a labelled set (``tests/data/clinical_text``).

A labelled record is ``{"id", "source", "lead": {first_name, last_name, email, phone},
"text", "spans": [{"start", "end", "kind"}]}``. Scoring is per span:

- a labelled clinical span (condition, medication, procedure) is **found** when a clinical
  find overlaps it; recall = found / labelled. ``covered`` is the share of the labelled
  clinical characters that the finds replace (a find of ``sleep apnea`` inside the label
  ``obstructive sleep apnea`` is found, but leaves ``obstructive`` readable);
- a clinical find is **right** when it overlaps a labelled clinical span; precision =
  right / finds;
- the same for the person's own details (name, email, phone), as one group.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadflow.adapters.redaction.scanner import ClinicalScanner, Find
from leadflow.domain.free_text import CLINICAL, Marker
from leadflow.services.redaction import Identity

PERSONAL = frozenset({Marker.NAME, Marker.EMAIL, Marker.PHONE})


@dataclass(frozen=True)
class Labelled:
    record_id: str
    text: str
    identity: Identity
    spans: list[tuple[int, int, Marker]]


@dataclass
class Group:
    """Counts for one group of markers (clinical or personal)."""

    labelled: int = 0
    found: int = 0
    finds: int = 0
    right: int = 0
    chars: int = 0
    chars_covered: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.finds if self.finds else 1.0

    @property
    def covered(self) -> float:
        return self.chars_covered / self.chars if self.chars else 1.0


def load_labelled(path: Path) -> list[Labelled]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data: dict[str, Any] = json.loads(line)
        lead = data.get("lead") or {}
        identity = Identity(
            tuple(n for n in (lead.get("first_name"), lead.get("last_name")) if n),
            tuple(e for e in (lead.get("email"),) if e),
            tuple(p for p in (lead.get("phone"),) if p),
        )
        spans = [(s["start"], s["end"], Marker(s["kind"])) for s in data["spans"]]
        records.append(Labelled(data["id"], data["text"], identity, spans))
    return records


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _score(group: Group, text: str, gold: list[tuple[int, int]], got: list[Find]) -> None:
    group.labelled += len(gold)
    group.finds += len(got)
    for start, end in gold:
        hits = [f for f in got if _overlaps((start, end), (f.start, f.end))]
        group.chars += end - start
        group.chars_covered += sum(
            1 for i in range(start, end) if any(f.start <= i < f.end for f in hits)
        )
        if hits:
            group.found += 1
        else:
            group.missed[text[start:end].casefold()] += 1
    for find in got:
        if any(_overlaps((find.start, find.end), g) for g in gold):
            group.right += 1
        else:
            group.wrong[text[find.start : find.end].casefold()] += 1


def evaluate(scanner: ClinicalScanner, records: Iterable[Labelled]) -> dict[str, Group]:
    """Counts for ``clinical`` and ``personal`` over every record."""
    groups = {"clinical": Group(), "personal": Group()}
    for record in records:
        finds = scanner.finds(record.text, record.identity)
        for name, kinds in (("clinical", CLINICAL), ("personal", PERSONAL)):
            gold = [(s, e) for s, e, k in record.spans if k in kinds]
            got = [f for f in finds if f.marker in kinds]
            _score(groups[name], record.text, gold, got)
    return groups
