"""The configured playbooks by name: the shipped ones and a deployment's own folder, kept
fresh while a server runs.

A name is looked up in ``LEADFLOW_PLAYBOOK_DIR`` first (``NAME.yaml`` wins over a shipped
playbook of that name), then among the shipped ones; a lead can never name a path. A
playbook from the folder is checked again at most once per ``reload_s`` seconds: when its
file changed (size, modification time, then content hash), it is loaded in full and
replaces the old one at once, so the next decision records the new version. A broken edit
never serves: the last good version stays, and the problems are logged once, each with
its file and line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from threading import Lock

from leadflow.adapters.playbook_yaml import load_playbook, shipped_playbooks
from leadflow.adapters.playbook_yaml.loader import load_playbook_text
from leadflow.domain.playbook import Playbook
from leadflow.errors import PlaybookError, PlaybookNotFoundError, PlaybookProblem

log = logging.getLogger(__name__)

PLAYBOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass
class _Entry:
    playbook: Playbook
    path: Path | None  # None: a shipped playbook, which never changes
    stamp: tuple[int, int] | None = None  # the file's (size, mtime_ns) when last read
    digest: str | None = None  # the content hash of the file last read
    checked: float = 0.0  # monotonic seconds of the last check


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


@dataclass
class Playbooks:
    """The configured playbooks, by name only (see the module's docstring)."""

    folder: Path | None = None
    reload_s: float = 2.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[str, _Entry] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def names(self) -> list[str]:
        own = sorted(p.stem for p in self.folder.glob("*.yaml")) if self.folder else []
        return sorted({*shipped_playbooks(), *own})

    def _own_file(self, name: str) -> Path | None:
        if not PLAYBOOK_NAME.match(name):
            raise PlaybookNotFoundError(
                "a playbook is named (e.g. `specialty-clinic`), never given by a path"
            )
        if self.folder is not None and (self.folder / f"{name}.yaml").is_file():
            return self.folder / f"{name}.yaml"
        return None

    def text(self, name: str) -> str:
        """The YAML text of the playbook ``name`` as written (its own file, else the shipped)."""
        path = self._own_file(name)
        if path is not None:
            return path.read_text(encoding="utf-8")
        if name not in shipped_playbooks():
            known = ", ".join(self.names())
            raise PlaybookNotFoundError(f"no playbook named `{name}`; known: {known}")
        return (files("leadflow") / "playbooks" / f"{name}.yaml").read_text(encoding="utf-8")

    def _load(self, name: str) -> _Entry:
        path = self._own_file(name)
        if path is None:
            if name not in shipped_playbooks():
                known = ", ".join(self.names())
                raise PlaybookNotFoundError(f"no playbook named `{name}`; known: {known}")
            return _Entry(load_playbook(name), None, checked=self.monotonic())
        stamp, data = _stamp(path), path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = PlaybookProblem(str(path), None, None, "", "the file is not UTF-8 text")
            raise PlaybookError([problem]) from exc
        playbook = load_playbook_text(text, str(path))
        digest = hashlib.sha256(data).hexdigest()
        return _Entry(playbook, path, stamp, digest, self.monotonic())

    def _refresh(self, name: str, entry: _Entry) -> _Entry:
        """The entry, reloaded when its file changed and the new file loads."""
        now = self.monotonic()
        if now - entry.checked < self.reload_s:
            return entry
        entry.checked = now
        path = self._own_file(name)
        if path != entry.path:  # a file added to, or removed from, the folder
            return self._replace(name, entry, None)
        if path is None or _stamp(path) == entry.stamp:
            return entry
        return self._replace(name, entry, path)

    def _replace(self, name: str, entry: _Entry, path: Path | None) -> _Entry:
        stamp = _stamp(path) if path is not None else None
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.warning("playbook `%s`: %s cannot be read (%s)", name, path, type(exc).__name__)
                return entry
            if hashlib.sha256(data).hexdigest() == entry.digest:
                entry.stamp = stamp  # touched, not changed
                return entry
        try:
            fresh = self._load(name)
        except (PlaybookError, PlaybookNotFoundError, OSError) as exc:
            entry.stamp = stamp  # logged once per change, not once per request
            log.warning(
                "playbook `%s` not reloaded, version %s keeps serving: %s",
                name,
                entry.playbook.version,
                exc
                if isinstance(exc, PlaybookError | PlaybookNotFoundError)
                else type(exc).__name__,
            )
            return entry
        log.info(
            "playbook `%s` reloaded: version %s → %s",
            name,
            entry.playbook.version,
            fresh.playbook.version,
        )
        self._cache[name] = fresh
        return fresh

    def __call__(self, name: str) -> Playbook:
        with self._lock:
            entry = self._cache.get(name)
            if entry is None:
                entry = self._cache[name] = self._load(name)
            else:
                entry = self._refresh(name, entry)
            return entry.playbook
