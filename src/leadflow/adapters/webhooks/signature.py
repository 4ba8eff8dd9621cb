"""Webhook signatures in the Standard Webhooks format (https://www.standardwebhooks.com).

A delivery carries three headers: ``webhook-id`` (the delivery id), ``webhook-timestamp``
(integer unix seconds) and ``webhook-signature``, a space-separated list of
``v1,<base64 HMAC-SHA256>`` entries. The signed content is ``"{id}.{timestamp}."`` followed
by the raw body bytes, exactly as received: a body that was parsed and re-serialised no longer
verifies. Secrets are ``whsec_<base64 key>``; a secret without that prefix is used as its UTF-8
bytes.

Pure: standard library only, no clock of its own (the caller passes ``now``). Error messages
never quote a secret or a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from leadflow.errors import WebhookSignatureError

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Sign one delivery and return the ``webhook-signature`` header value ``v1,<base64>``.

    ``body`` must be the exact bytes that will be sent. Raises ``ValueError`` when the secret
    is unusable (``whsec_`` followed by something that is not base64, or an empty key).
    """
    key = _secret_key(secret, "secret")
    digest = _digest(key, msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> str:
    """Verify an inbound delivery and return its id (the ``webhook-id`` header).

    Header names are matched in any case (a plain ``dict`` or a Starlette ``Headers``).
    ``body`` must be the raw request bytes. Any secret in ``secrets`` may match, so a key can
    be rotated by listing the new and the old one together. The timestamp may be at most
    ``tolerance_s`` seconds before or after ``now`` (the bounds themselves are accepted).

    Raises :class:`~leadflow.errors.WebhookSignatureError` with ``code`` one of
    ``no_secret``, ``missing_id``, ``missing_timestamp``, ``bad_timestamp``,
    ``timestamp_too_old``, ``timestamp_in_future``, ``missing_signature`` or
    ``bad_signature``. Raises ``ValueError`` for caller mistakes: a naive ``now``, a negative
    tolerance, or a configured secret that cannot be decoded (named by its 1-based position).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if tolerance_s < 0:
        raise ValueError("tolerance_s must not be negative")
    if not secrets:
        raise WebhookSignatureError("no_secret", "no webhook secret is configured")
    keys = [_secret_key(secret, f"secret {n}") for n, secret in enumerate(secrets, start=1)]
    msg_id = _required(headers, ID_HEADER, "missing_id")
    timestamp = _parse_timestamp(_required(headers, TIMESTAMP_HEADER, "missing_timestamp"))
    _check_timestamp(timestamp, now, tolerance_s)
    candidates = _v1_signatures(_required(headers, SIGNATURE_HEADER, "missing_signature"))
    if not candidates:
        raise WebhookSignatureError(
            "bad_signature", f"the {SIGNATURE_HEADER} header has no {SIGNATURE_VERSION} entry"
        )
    matched = False
    for key in keys:
        expected = _digest(key, msg_id, timestamp, body)
        for candidate in candidates:
            # No early exit: every comparison runs, each in constant time.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError(
            "bad_signature", "no webhook signature matches any configured secret"
        )
    return msg_id


def _required(headers: Mapping[str, str], name: str, code: str) -> str:
    """A header that must be there and not blank."""
    value = _header(headers, name)
    if value is None or not value.strip():
        raise WebhookSignatureError(code, f"the {name} header is missing or empty")
    return value


def _secret_key(secret: str, label: str) -> bytes:
    """The HMAC key of one secret; ``label`` names it in errors (never its value)."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"{label} is not valid base64 after the {SECRET_PREFIX} prefix"
            ) from None
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError(f"{label} is empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    """HMAC-SHA256 over ``"{id}.{timestamp}."`` followed by the raw body."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, content, hashlib.sha256).digest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, whatever the case of the key in ``headers``."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _parse_timestamp(raw: str) -> int:
    """Integer unix seconds: ASCII digits only (no sign, fraction, spaces or underscores)."""
    text = raw.strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 18:
        raise WebhookSignatureError(
            "bad_timestamp", f"the {TIMESTAMP_HEADER} header is not integer unix seconds"
        )
    return int(text)


def _check_timestamp(timestamp: int, now: datetime, tolerance_s: int) -> None:
    """Reject a timestamp more than ``tolerance_s`` seconds away from ``now``."""
    skew = now.timestamp() - timestamp
    if skew > tolerance_s:
        raise WebhookSignatureError(
            "timestamp_too_old",
            f"the delivery timestamp is {skew:.0f} s old; at most {tolerance_s} s is accepted",
        )
    if -skew > tolerance_s:
        raise WebhookSignatureError(
            "timestamp_in_future",
            f"the delivery timestamp is {-skew:.0f} s in the future; "
            f"at most {tolerance_s} s is accepted",
        )


def _v1_signatures(raw: str) -> list[bytes]:
    """The decoded ``v1`` entries of a signature header; other versions and junk are skipped."""
    found: list[bytes] = []
    for entry in raw.split():
        version, sep, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION or not sep:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
