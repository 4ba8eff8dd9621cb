"""Settings from the environment (``LEADFLOW_*``), checked when a command or the server starts."""

from __future__ import annotations

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadflow.adapters.db.engine import DEFAULT_URL
from leadflow.adapters.messaging_sink import SmtpConfig
from leadflow.domain.access import ROLES


class Settings(BaseSettings):
    """Everything ``serve``, ``import`` and the other store commands read from the environment."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore")

    database_url: str = Field(
        DEFAULT_URL,
        description="SQLAlchemy URL: a SQLite file (default) or postgresql://user@host/db",
    )
    config: str | None = Field(
        None,
        description="the deployment file (leadflow.yaml): which playbook decides a lead that "
        "names none (unset: the shipped default)",
    )
    default_playbook: str | None = Field(
        None,
        description="replaced by `playbook_choice.default` in the deployment file: refused",
    )
    playbook_dir: str | None = Field(
        None,
        description="a folder of your own playbooks: each NAME.yaml is the playbook NAME",
    )
    playbook_reload_s: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="a running server checks a changed file of LEADFLOW_PLAYBOOK_DIR at most "
        "this often (0: on every use)",
    )
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=dict,
        description='inbound webhook secrets per source, as JSON: {"forms": ["whsec_…"]}',
    )
    webhook_tolerance_s: int = Field(300, ge=1, le=3600)
    webhook_mappings: dict[str, str] = Field(
        default_factory=dict,
        description="a source mapping per inbound webhook source, as JSON: "
        '{"calls": "call-tracking", "forms": "/etc/leadflow/forms.yaml"} (a shipped mapping '
        "or a .yaml file); a source without one posts leadflow's own {lead, events} shape",
    )
    webhook_dedupe_hours: float = Field(
        24,
        ge=0,
        le=24 * 30,
        description="an inbound webhook event without an id of its own that repeats an event "
        "of the same lead (type and properties) within this many hours is stored once (0: off)",
    )
    webhook_allow_private: bool = Field(
        False,
        description="deliver outbound webhooks to private, loopback and link-local addresses",
    )
    max_batch: int = Field(1000, ge=1, le=100_000, description="events per POST /v1/events")
    import_sla_max_age_hours: int = Field(
        72,
        ge=0,
        le=24 * 365,
        description="leadflow import starts an SLA clock from a lead's latest event only when "
        "that event is at most this old (older leads get no clock: never breached)",
    )
    import_time_zone: str | None = Field(
        None,
        description="leadflow import reads date-times written without a UTC offset in this "
        "IANA time zone (e.g. America/New_York); unset: UTC, or --time-zone",
    )
    future_skew_s: int = Field(
        300, ge=0, description="how far in the future an event's occurred_at may be"
    )
    smtp_url: str | None = Field(
        None,
        description="email through SMTP: smtp://user:pass@host:587?starttls=1 (unset: the file)",
    )
    mail_from: str = Field("leadflow@localhost", description="the From address of emails")
    message_file: str = Field(
        "out/messages.jsonl",
        description="JSON Lines file for emails (without SMTP), texts and calls (local sink)",
    )

    public_url: str = Field(
        "http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="the server's address as recipients reach it: the base of unsubscribe links",
    )
    unsubscribe_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="HMAC key of unsubscribe links (unset: a key made and kept in the database)",
    )
    sms_sender_name: str | None = Field(
        None,
        max_length=40,
        description="who a STOP confirmation text is from (unset: the playbook's organisation)",
    )

    # -- people: sessions, sign-in throttling, single sign-on -------------------------------
    session_idle_minutes: int = Field(
        30, ge=1, le=24 * 60, description="a dashboard session ends after this long unused"
    )
    session_lifetime_hours: float = Field(
        12, gt=0, le=24 * 30, description="a dashboard session ends this long after sign-in"
    )
    sign_in_account_failures: int = Field(
        5, ge=1, le=100, description="failed sign-ins that lock an account for a while"
    )
    sign_in_address_failures: int = Field(
        20, ge=1, le=1000, description="failed sign-ins that lock a client address for a while"
    )
    sign_in_lock_minutes: float = Field(
        15, gt=0, le=24 * 60, description="how long such a lock lasts (and the counting window)"
    )
    oidc_issuer: str | None = Field(
        None,
        pattern=r"^https?://[^\s?#]+$",
        description="OpenID Connect issuer URL: enables `Sign in with single sign-on`",
    )
    oidc_client_id: str | None = Field(None, max_length=400, description="OIDC client id")
    oidc_client_secret: SecretStr | None = Field(None, description="OIDC client secret")
    oidc_scopes: str = Field("openid email profile", description="scopes asked of the provider")
    oidc_role_claim: str = Field("groups", description="the claim that carries a person's groups")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description='group → role, as JSON: {"leadflow-intake": "intake", "it-admins": "admin"}',
    )
    oidc_default_role: str | None = Field(
        None, description="role of a person in no mapped group (unset: they are refused)"
    )
    oidc_label: str = Field(
        "Sign in with single sign-on", max_length=100, description="the SSO button's text"
    )

    # -- HTTP limits -------------------------------------------------------------------------
    rate_limit: str = Field(
        "600/minute",
        description="requests per API key and per signed-in user (`limits` syntax; `off`)",
    )
    rate_limit_per_address: str = Field(
        "1200/minute", description="requests per client address (`limits` syntax; `off`)"
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="where the counters live: memory:// (one process) or redis://host:6379/0",
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="larger request bodies get 413 before being read"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="more Host names to accept in open local mode (besides loopback names)",
    )

    @field_validator("default_playbook")
    @classmethod
    def _no_default_playbook(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "LEADFLOW_DEFAULT_PLAYBOOK is replaced by the deployment file: set "
                "`playbook_choice.default` in the file LEADFLOW_CONFIG names"
            )
        return value

    @field_validator("rate_limit", "rate_limit_per_address")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        if value.strip().lower() != "off":
            parse_many(value)  # a ValueError names the expected form
        return value

    @field_validator("oidc_role_map")
    @classmethod
    def _roles_known(cls, value: dict[str, str]) -> dict[str, str]:
        for group, role in value.items():
            if role not in ROLES:
                raise ValueError(f"group `{group}`: unknown role `{role}`")
        return value

    @field_validator("oidc_default_role")
    @classmethod
    def _default_role_known(cls, value: str | None) -> str | None:
        if value is not None and value not in ROLES:
            raise ValueError(f"unknown role `{value}`")
        return value

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str | None) -> str | None:
        if value:
            SmtpConfig.from_url(value)  # a ValueError names the expected form, not the secret
        return value

    @model_validator(mode="after")
    def _mapped_sources_have_secrets(self) -> Settings:
        for source in self.webhook_mappings:
            if source not in self.webhook_secrets:
                raise ValueError(
                    f"webhook_mappings: source `{source}` has no secret in webhook_secrets"
                )
        return self

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_set(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, secrets in value.items():
            if not secrets or any(len(s) < 16 for s in secrets):
                raise ValueError(
                    f"source `{source}`: give at least one secret of 16 or more characters"
                )
        return value
