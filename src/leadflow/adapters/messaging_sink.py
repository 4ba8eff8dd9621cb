"""Where allowed messages go: email through SMTP, texts and calls through a provider.

Locally nothing leaves the box: :class:`FileSink` and :class:`FileProvider` append every
email, SMS and call to a JSON Lines file. :class:`ChannelSink` routes each channel to its
sender; :func:`make_sink` builds the one the settings ask for (``LEADFLOW_SMTP_URL`` unset →
the file). Every sink raises on failure, and the worker retries the message later.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from threading import Lock
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from leadflow.services.sending import Sink

SMTP_TIMEOUT_S = 10.0
_TRUE = {"1", "true", "yes", "on"}


def _append(path: Path, record: dict[str, Any], lock: Lock) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False)
    with lock, path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


class FileSink:
    """The :class:`~leadflow.services.sending.Sink` for local use: one JSON line per message
    (``channel``, ``to``, ``body``, and ``subject`` and ``headers`` when there are some)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = Lock()

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        record: dict[str, Any] = {"channel": channel, "to": to}
        if subject is not None:
            record["subject"] = subject
        if headers:
            record["headers"] = dict(headers)
        record["body"] = body
        _append(self.path, record, self._lock)


class TextProvider(Protocol):
    """An SMS provider (Twilio and the like): sends ``body`` to an E.164 number."""

    def send_text(self, to: str, body: str) -> None: ...


class VoiceProvider(Protocol):
    """A voice provider: places a call to an E.164 number that reads ``script``."""

    def place_call(self, to: str, script: str) -> None: ...


class FileProvider:
    """The local text and voice provider: appends to the JSON Lines file of a :class:`FileSink`
    (``channel`` ``sms`` or ``phone``)."""

    def __init__(self, sink: FileSink) -> None:
        self.sink = sink

    def send_text(self, to: str, body: str) -> None:
        self.sink.send("sms", to, body)

    def place_call(self, to: str, script: str) -> None:
        self.sink.send("phone", to, script)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server (from ``smtp://user:pass@host:587?starttls=1``)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """``smtp://[user[:pass]@]host[:port][?starttls=1]`` or ``smtps://…`` (TLS from the
        start, port 465 by default); user and password may be percent-encoded."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp://user:pass@host:587?starttls=1")
        secure = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[-1].strip().lower() in _TRUE
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if secure else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=starttls and not secure,
            ssl=secure,
        )


class SmtpSink:
    """Email through an SMTP server (one connection per message); other channels refused."""

    def __init__(
        self, config: SmtpConfig, mail_from: str, *, timeout_s: float = SMTP_TIMEOUT_S
    ) -> None:
        self.config = config
        self.mail_from = mail_from
        self.timeout_s = timeout_s

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if channel != "email":
            raise ValueError(f"SmtpSink sends email only, not {channel}")
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = to
        message["Subject"] = subject or ""
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.mail_from.rpartition("@")[2] or None)
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.ssl:
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout_s)
        with smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            smtp.send_message(message)


class ChannelSink:
    """The worker's sink: email to ``email``, sms to ``text``, phone calls to ``voice``."""

    def __init__(self, email: Sink, text: TextProvider, voice: VoiceProvider) -> None:
        self.email = email
        self.text = text
        self.voice = voice

    def send(
        self,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if channel == "email":
            if headers:
                self.email.send(channel, to, body, subject, headers=headers)
            else:
                self.email.send(channel, to, body, subject)
        elif channel == "sms":
            self.text.send_text(to, body)
        elif channel == "phone":
            self.voice.place_call(to, body)
        else:
            raise ValueError(f"no sender for channel {channel}")


def make_sink(smtp_url: str | None, mail_from: str, message_file: Path) -> ChannelSink:
    """Email through SMTP when ``smtp_url`` is set, else to ``message_file``; texts and calls
    to ``message_file`` (the local provider)."""
    local = FileSink(message_file)
    email: Sink = local
    if smtp_url:
        email = SmtpSink(SmtpConfig.from_url(smtp_url), mail_from)
    provider = FileProvider(local)
    return ChannelSink(email, provider, provider)


def _conforms(file: FileSink, smtp: SmtpSink, channels: ChannelSink) -> tuple[Sink, Sink, Sink]:
    return file, smtp, channels  # mypy checks that each satisfies the Sink port


def _providers(local: FileProvider) -> tuple[TextProvider, VoiceProvider]:
    return local, local  # mypy checks that FileProvider satisfies both provider ports
