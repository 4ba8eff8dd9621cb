"""The audit chain: each record's hash covers its content and the hash before it.

Editing a record changes its hash; deleting one breaks the numbering and the link of the
next record. Deleting the newest records leaves a shorter chain that still verifies, so
``leadflow audit verify`` prints the head (count and hash) for anchoring elsewhere, and
``--expect-head`` checks against an anchored one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from leadflow.services.store.ports import AuditEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainedEntry:
    """An audit record as stored: numbered and chained."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    """The SHA-256 of the previous hash and this record's canonical JSON."""
    body = json.dumps(
        {
            "seq": seq,
            "at": entry.at.isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "entity": entry.entity,
            "entity_id": entry.entity_id,
            "before": entry.before,
            "after": entry.after,
            "reason": entry.reason,
            "playbook_version": entry.playbook_version,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: the records checked, the head, and every break."""

    count: int
    head_hash: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(entries: Iterable[ChainedEntry]) -> ChainReport:
    """Check numbering, links and hashes of ``entries`` (in ``seq`` order)."""
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            problems.append(
                f"record {entry.seq}: expected record {expected_seq} next "
                f"({entry.seq - expected_seq} missing: deleted?)"
            )
        if entry.prev_hash != prev:
            problems.append(f"record {entry.seq}: does not link to the record before it")
        recomputed = entry_hash(entry.prev_hash, entry.seq, entry.entry)
        if recomputed != entry.hash:
            problems.append(f"record {entry.seq}: content does not match its hash (edited?)")
        expected_seq, prev = entry.seq + 1, entry.hash
    return ChainReport(count, prev, problems)
