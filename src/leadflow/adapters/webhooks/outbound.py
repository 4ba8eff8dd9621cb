"""Deliver the webhook outbox at least once: sign, POST, record the outcome, retry later.

:func:`deliver_due` claims due messages in a short transaction of its own (on PostgreSQL
with ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers never take the same row;
SQLite has one writer at a time) and leases them: their ``next_attempt_at`` moves past the
time the batch may take, so a worker killed mid-batch loses nothing, its messages come back
once the lease ends. Each message is then POSTed with the Standard Webhooks headers (the
same ``webhook-id`` on every attempt, a fresh ``webhook-timestamp`` and signature) and its
outcome is written in a transaction of its own: delivered only after a 2xx answer.

- 2xx: delivered.
- 410: the endpoint is disabled (the reason recorded) and the message is dead.
- 429, 5xx, a timeout, a connection or DNS error: retried after a full-jitter exponential
  backoff (``uniform(0, min(6 h, 30 s × 2^(attempt-1)))``), or after ``Retry-After``
  (seconds or an HTTP date, at most 6 h) when that is longer, until ``retry_until``
  (3 days after the message was written); the last attempt is at ``retry_until`` and a
  failure then makes the message dead.
- any other answer (3xx, which is not followed, and other 4xx): dead at once.
- a private, loopback, link-local or otherwise non-public target: dead at once, unless
  private targets are allowed (``LEADFLOW_WEBHOOK_ALLOW_PRIVATE``, tests and labs only).

Errors recorded on a message name the exception type or the status, never the secret.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from leadflow.adapters.db.database import Database
from leadflow.adapters.db.outbox import OutboxMessage
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.webhooks.signature import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
)

BASE_DELAY_S = 30.0
FACTOR = 2.0
MAX_DELAY_S = 6 * 3600.0
TIMEOUT_S = 10.0
LEASE_MARGIN_S = 60.0
USER_AGENT = "leadflow-webhooks"

Resolver = Callable[[str, int], list[str]]


class Jitter(Protocol):
    """Where the backoff's randomness comes from (``random.Random``; tests pass their own)."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`deliver_due` call did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "delivered" | "retry" | "dead" | "gone"
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def backoff_ceiling(attempt: int) -> float:
    """The upper bound of the delay after failed attempt ``attempt`` (1-based)."""
    return min(MAX_DELAY_S, BASE_DELAY_S * FACTOR ** min(max(attempt - 1, 0), 32))


def lease_for(limit: int, timeout_s: float) -> timedelta:
    """How long claimed messages are held: every send of the batch timing out, plus margin."""
    return timedelta(seconds=LEASE_MARGIN_S + timeout_s * limit)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds (delta seconds or an HTTP date), at most 6 h; else ``None``."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdecimal():
        seconds = float(int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_DELAY_S)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def refused_target(url: str, resolve: Resolver = _resolve) -> str | None:
    """Why ``url`` must not be called (a non-public address), or ``None`` when it is public.

    Raises ``OSError`` when the host cannot be resolved (retried like a connection error).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in resolve(host, port):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return f"the target host resolves to a non-public address ({ip})"
    return None


def deliver_due(
    db: Database,
    now: datetime,
    client: httpx.Client,
    limit: int = 50,
    *,
    rng: Jitter | None = None,
    allow_private: bool = False,
    timeout_s: float = TIMEOUT_S,
    resolve: Resolver = _resolve,
) -> DeliveryReport:
    """Send up to ``limit`` messages due at ``now``; each outcome is committed on its own."""
    jitter: Jitter = rng if rng is not None else random.SystemRandom()
    lease = lease_for(limit, timeout_s)
    messages = db.run(lambda store: store.outbox.claim_due(now, limit, lease))
    counts = {"delivered": 0, "retry": 0, "dead": 0}
    gone: set[str] = set()
    for message in messages:
        if message.endpoint_id in gone:
            # The endpoint answered 410 earlier in this pass: disabling it dead-lettered this
            # message too, so it is not sent to an endpoint that asked for no more.
            counts["dead"] += 1
            continue
        outcome = _send(
            message, now, client, allow_private=allow_private, timeout_s=timeout_s, resolve=resolve
        )

        def record(store: SqlUnitOfWork, m: OutboxMessage = message, o: _Outcome = outcome) -> str:
            return _record(store, m, o, now, jitter)

        counts[db.run(record)] += 1
        if outcome.kind == "gone":
            gone.add(message.endpoint_id)
    return DeliveryReport(len(messages), counts["delivered"], counts["retry"], counts["dead"])


def message_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed (compact JSON, keys sorted: the same on every try)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _send(
    message: OutboxMessage,
    now: datetime,
    client: httpx.Client,
    *,
    allow_private: bool,
    timeout_s: float,
    resolve: Resolver,
) -> _Outcome:
    try:
        if not allow_private:
            refused = refused_target(message.url, resolve)
            if refused is not None:
                return _Outcome("dead", error=f"refused: {refused}")
    except (OSError, ValueError) as exc:
        return _Outcome("retry", error=f"cannot resolve the target host ({type(exc).__name__})")
    body = message_body(message.payload)
    stamp = int(now.timestamp())
    headers = {
        ID_HEADER: message.msg_id,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign_webhook(message.secret, message.msg_id, stamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        response = client.post(message.url, content=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as exc:
        return _Outcome("retry", error=f"timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return _Outcome("retry", error=f"connection error ({type(exc).__name__})")
    status = response.status_code
    if 200 <= status < 300:
        return _Outcome("delivered", status)
    if status == 410:
        return _Outcome("gone", status, "410 Gone: the endpoint asked to stop")
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        return _Outcome("retry", status, f"HTTP {status}", retry_after)
    return _Outcome("dead", status, f"HTTP {status}")


def _record(
    store: SqlUnitOfWork, message: OutboxMessage, outcome: _Outcome, now: datetime, jitter: Jitter
) -> str:
    """Write one outcome; returns ``delivered``, ``retry`` or ``dead``."""
    values: dict[str, Any] = {"last_status": outcome.status, "last_error": outcome.error}
    kind = outcome.kind
    if kind == "delivered":
        values["delivered_at"] = now
    elif kind == "retry":
        if now >= message.retry_until:
            kind = "dead"
        else:
            delay = jitter.uniform(0.0, backoff_ceiling(message.attempts))
            if outcome.retry_after_s is not None:
                delay = max(delay, outcome.retry_after_s)
            values["next_attempt_at"] = min(now + timedelta(seconds=delay), message.retry_until)
    if kind in {"dead", "gone"}:
        values.update(dead=True, dead_at=now)
    store.outbox.settle(message.row_id, values)
    if kind == "gone":
        store.outbox.disable(message.endpoint_id, f"410 Gone at {now.isoformat()}", now)
        kind = "dead"
    return kind
