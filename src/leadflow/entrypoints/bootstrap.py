"""The composition root: settings, database, playbooks and clock wired together once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import current_revision, head_revision, upgrade
from leadflow.adapters.deployment import load_choice
from leadflow.adapters.oidc import OidcClient, SsoConfig
from leadflow.adapters.passwords import Argon2Passwords
from leadflow.adapters.playbook_files import Playbooks
from leadflow.adapters.ratelimit import RateLimiter
from leadflow.adapters.records.zones import locate
from leadflow.adapters.redaction import default_scanner
from leadflow.adapters.webhooks.mapping import SourceMapping, load_mapping
from leadflow.domain.playbook_choice import PlaybookChoice
from leadflow.entrypoints.settings import Settings
from leadflow.services.accounts import SessionRules, SignInRules
from leadflow.services.optout import UnsubscribeLinks
from leadflow.services.redaction import AS_WRITTEN, Redactor, TextScanner
from leadflow.services.reports.reasons import ReasonReader, playbook_reasons
from leadflow.services.routing.assign import ImportedClocks
from leadflow.services.sending import Sender, Sink
from leadflow.services.sso import RoleMapping
from leadflow.services.store.intake import Context


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


@dataclass
class App:
    """What every entrypoint needs: the database, the playbooks, the clock, the settings,
    and the parts built from them (scanner, rate limiter, password hashing, single sign-on)."""

    settings: Settings
    db: Database
    playbooks: Playbooks
    choice: PlaybookChoice
    clock: Callable[[], datetime] = utc_now
    limiter: RateLimiter = field(init=False)
    passwords: Argon2Passwords = field(default_factory=Argon2Passwords)
    sso: OidcClient | None = field(init=False)
    # each inbound webhook source's mapping, loaded and checked at start-up
    webhook_sources: dict[str, SourceMapping] = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.webhook_sources = {src: load_mapping(m) for src, m in s.webhook_mappings.items()}
        self.limiter = RateLimiter(s.rate_limit, s.rate_limit_per_address, s.rate_limit_storage)
        self.sso = None
        if s.oidc_issuer and s.oidc_client_id:
            secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else None
            redirect = s.public_url.rstrip("/") + "/login/sso/callback"
            self.sso = OidcClient(
                SsoConfig(s.oidc_issuer, s.oidc_client_id, secret, redirect, s.oidc_scopes)
            )

    @property
    def scanner(self) -> TextScanner:
        """The clinical-text scanner (its vocabulary is loaded on first use)."""
        return default_scanner()

    def redactor(self, raw: bool) -> Redactor:
        """Text derived from a person's words as written (``raw``) or scanned."""
        return AS_WRITTEN if raw else Redactor(self.scanner)

    def report_reasons(self) -> ReasonReader:
        """How one report reads stored reasons: as the lead's playbook's codes and labels,
        anything else scanned like free text (every role reads reports)."""
        return ReasonReader(playbook_reasons(self.playbooks), self.redactor(raw=False))

    def context(
        self, actor: str, source: str, *, imported: bool = False, defer: bool = False
    ) -> Context:
        """The context of one unit of work, with the time read once; ``imported``: leads
        come with their history, so SLA clocks start from it (``leadflow import``);
        ``defer``: append only, the touched leads queued for a decider."""
        return Context(
            actor=actor,
            source=source,
            now=self.clock(),
            playbooks=self.playbooks,
            choice=self.choice,
            scanner=self.scanner,
            imported=ImportedClocks(timedelta(hours=self.settings.import_sla_max_age_hours))
            if imported
            else None,
            defer=defer,
        )

    def session_rules(self) -> SessionRules:
        return SessionRules(
            idle=timedelta(minutes=self.settings.session_idle_minutes),
            lifetime=timedelta(hours=self.settings.session_lifetime_hours),
        )

    def sign_in_rules(self) -> SignInRules:
        lock = timedelta(minutes=self.settings.sign_in_lock_minutes)
        return SignInRules(
            account_failures=self.settings.sign_in_account_failures,
            address_failures=self.settings.sign_in_address_failures,
            window=lock,
            lock=lock,
        )

    def role_mapping(self) -> RoleMapping:
        s = self.settings
        return RoleMapping(s.oidc_role_claim, dict(s.oidc_role_map), s.oidc_default_role)

    def unsubscribe_links(self) -> UnsubscribeLinks:
        """How unsubscribe links are signed and where they point, from the settings."""
        secret = self.settings.unsubscribe_secret
        return UnsubscribeLinks(
            self.settings.public_url, secret.get_secret_value().encode() if secret else None
        )

    def sender(self, sink: Sink) -> Sender:
        """What sends the message outbox to ``sink``: this database, the lead locator, the
        unsubscribe links from the settings."""
        return Sender(self.db.run, sink, locate, self.unsubscribe_links())


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = False,
) -> App:
    """Wire the application; ``migrate`` upgrades an empty database to the current schema."""
    settings = settings or Settings()
    playbooks = load_playbooks(settings)
    choice = load_choice(settings.config, playbooks.names())  # a ConfigError names file and line
    engine = make_engine(settings.database_url)
    if migrate and current_revision(engine) is None:
        upgrade(engine)
    return App(settings, Database(engine), playbooks, choice, clock)


def load_playbooks(settings: Settings) -> Playbooks:
    """The playbooks the settings configure: the shipped ones and ``LEADFLOW_PLAYBOOK_DIR``'s,
    each checked for a changed file at most once per ``LEADFLOW_PLAYBOOK_RELOAD_S``."""
    folder = Path(settings.playbook_dir) if settings.playbook_dir else None
    return Playbooks(folder, settings.playbook_reload_s)


def schema_is_current(app: App) -> tuple[bool, str | None, str]:
    """Whether the database is at this release's schema: (ok, at, expected)."""
    at, head = current_revision(app.db.engine), head_revision()
    return at == head, at, head
