"""The message sinks: SMTP for email (against a tiny SMTP server of the test's own), the
local file, and the channel router."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import ValidationError

from leadflow.adapters.messaging_sink import (
    ChannelSink,
    FileProvider,
    FileSink,
    SmtpConfig,
    SmtpSink,
    make_sink,
)
from leadflow.entrypoints.settings import Settings


@dataclass
class Mailbox:
    envelopes: list[tuple[str, list[str], bytes]] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    mailbox: Mailbox

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self._reply("220 test ESMTP")
        sender, recipients = "", []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("ascii").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self._reply("250 test")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip().strip("<>")
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                self.mailbox.envelopes.append((sender, recipients, data[: -len(b".\r\n")]))
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 OK")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    handler = type("Handler", (_SmtpHandler,), {"mailbox": mailbox})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], mailbox
    finally:
        server.shutdown()
        server.server_close()


def test_smtp_sink_delivers_one_email_to_the_server(smtp_server: tuple[int, Mailbox]) -> None:
    port, mailbox = smtp_server
    sink = make_sink(f"smtp://127.0.0.1:{port}", "care@northwind.example", Path("unused.jsonl"))
    assert isinstance(sink.email, SmtpSink)
    sink.send("email", "dana@example.com", "Hello Dana,\n\nA guide.", "A guide ✓")
    [(sender, recipients, data)] = mailbox.envelopes
    assert (sender, recipients) == ("care@northwind.example", ["dana@example.com"])
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["From"] == "care@northwind.example"
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "A guide ✓"
    assert message.get_content().replace("\r\n", "\n") == "Hello Dana,\n\nA guide.\n"


def test_smtp_sink_refuses_other_channels_and_raises_when_the_server_is_down() -> None:
    sink = SmtpSink(SmtpConfig("127.0.0.1", 9), "care@northwind.example", timeout_s=2)
    with pytest.raises(ValueError, match="email only"):
        sink.send("sms", "+16175550142", "hi")
    with pytest.raises(ConnectionRefusedError):
        sink.send("email", "dana@example.com", "hi", "s")


def test_smtp_url_gives_host_port_credentials_and_starttls() -> None:
    config = SmtpConfig.from_url("smtp://mailer%40x:p%2Fss@mail.internal:587?starttls=1")
    assert config == SmtpConfig("mail.internal", 587, "mailer@x", "p/ss", starttls=True)
    assert SmtpConfig.from_url("smtps://mail.internal").port == 465
    assert SmtpConfig.from_url("smtp://mail.internal").starttls is False
    with pytest.raises(ValueError, match="smtp://"):
        SmtpConfig.from_url("http://mail.internal")


def test_the_channel_sink_routes_texts_and_calls_to_the_provider(tmp_path: Path) -> None:
    local = FileSink(tmp_path / "out" / "m.jsonl")
    emails = FileSink(tmp_path / "out" / "email.jsonl")
    provider = FileProvider(local)
    sink = ChannelSink(emails, provider, provider)
    sink.send("email", "dana@example.com", "body", "subject")
    sink.send("sms", "+16175550142", "text")
    sink.send("phone", "+16175550142", "script")
    with pytest.raises(ValueError, match="no sender"):
        sink.send("fax", "x", "y")
    lines = [json.loads(x) for x in local.path.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"channel": "sms", "to": "+16175550142", "body": "text"},
        {"channel": "phone", "to": "+16175550142", "body": "script"},
    ]
    assert json.loads(emails.path.read_text(encoding="utf-8")) == {
        "channel": "email",
        "to": "dana@example.com",
        "subject": "subject",
        "body": "body",
    }


def test_a_malformed_smtp_url_stops_the_settings_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as failure:
        Settings(smtp_url="mail.internal:587")
    assert "smtp://user:pass@host:587?starttls=1" in str(failure.value)
    assert Settings(smtp_url="smtp://mail.internal:25").smtp_url == "smtp://mail.internal:25"


ONE_CLICK = {
    "List-Unsubscribe": "<https://care.example/u/tok.en>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def test_smtp_sink_adds_the_one_click_unsubscribe_headers(
    smtp_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = smtp_server
    sink = make_sink(f"smtp://127.0.0.1:{port}", "care@northwind.example", Path("unused.jsonl"))
    sink.send("email", "dana@example.com", "Hello", "A guide", headers=ONE_CLICK)
    [(_, _, data)] = mailbox.envelopes
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["List-Unsubscribe"] == "<https://care.example/u/tok.en>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_file_sink_records_headers_when_given(tmp_path: Path) -> None:
    sink = make_sink(None, "care@northwind.example", tmp_path / "m.jsonl")
    sink.send("email", "dana@example.com", "Hello", "A guide", headers=ONE_CLICK)
    sink.send("email", "ana@northwind.example", "Call", "Late")
    lines = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text("utf-8").splitlines()]
    assert lines[0]["headers"] == ONE_CLICK
    assert "headers" not in lines[1]
