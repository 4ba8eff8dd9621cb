"""The composition root: settings, database, playbooks and clock wired together once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import Lock

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import current_revision, head_revision, upgrade
from leadflow.adapters.db.optout import UnsubscribeLinks
from leadflow.adapters.playbook_yaml import load_playbook
from leadflow.domain.playbook import Playbook
from leadflow.entrypoints.settings import Settings
from leadflow.services.store.intake import Context


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


@dataclass
class Playbooks:
    """Playbooks by name or path, loaded once and kept (a changed file needs a restart)."""

    _cache: dict[str, Playbook] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def __call__(self, name: str) -> Playbook:
        with self._lock:
            found = self._cache.get(name)
            if found is None:
                found = self._cache[name] = load_playbook(name)
            return found


@dataclass
class App:
    """What every entrypoint needs: the database, the playbooks, the clock, the settings."""

    settings: Settings
    db: Database
    playbooks: Playbooks
    clock: Callable[[], datetime] = utc_now

    def context(self, actor: str, source: str) -> Context:
        """The context of one unit of work, with the time read once."""
        return Context(
            actor=actor,
            source=source,
            now=self.clock(),
            playbooks=self.playbooks,
            default_playbook=self.settings.default_playbook,
        )

    def unsubscribe_links(self) -> UnsubscribeLinks:
        """How unsubscribe links are signed and where they point, from the settings."""
        secret = self.settings.unsubscribe_secret
        return UnsubscribeLinks(
            self.settings.public_url, secret.get_secret_value().encode() if secret else None
        )


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = False,
) -> App:
    """Wire the application; ``migrate`` upgrades an empty database to the current schema."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    if migrate and current_revision(engine) is None:
        upgrade(engine)
    return App(settings, Database(engine), Playbooks(), clock)


def schema_is_current(app: App) -> tuple[bool, str | None, str]:
    """Whether the database is at this release's schema: (ok, at, expected)."""
    at, head = current_revision(app.db.engine), head_revision()
    return at == head, at, head
