"""Settings from the environment (``LEADFLOW_*``), checked when a command or the server starts."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadflow.adapters.db.engine import DEFAULT_URL
from leadflow.adapters.messaging_sink import SmtpConfig


class Settings(BaseSettings):
    """Everything ``serve``, ``import`` and the other store commands read from the environment."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore")

    database_url: str = Field(
        DEFAULT_URL,
        description="SQLAlchemy URL: a SQLite file (default) or postgresql://user@host/db",
    )
    default_playbook: str = Field(
        "specialty-clinic", description="playbook for leads that do not name one"
    )
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=dict,
        description='inbound webhook secrets per source, as JSON: {"forms": ["whsec_…"]}',
    )
    webhook_tolerance_s: int = Field(300, ge=1, le=3600)
    webhook_allow_private: bool = Field(
        False,
        description="deliver outbound webhooks to private, loopback and link-local addresses",
    )
    max_batch: int = Field(1000, ge=1, le=100_000, description="events per POST /v1/events")
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

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str | None) -> str | None:
        if value:
            SmtpConfig.from_url(value)  # a ValueError names the expected form, not the secret
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_set(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, secrets in value.items():
            if not secrets or any(len(s) < 16 for s in secrets):
                raise ValueError(
                    f"source `{source}`: give at least one secret of 16 or more characters"
                )
        return value
