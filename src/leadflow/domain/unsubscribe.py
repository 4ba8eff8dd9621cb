"""Signed unsubscribe links for marketing email (a footer link and RFC 8058 one-click headers).

A token is ``<payload>.<mac>``: the payload is the base64url of ``v1``, the lead id, the
channel and the expiry (unix seconds); the MAC is HMAC-SHA256 over the same fields *and the
contact point*, so the address the email went to is bound to the link without appearing in
it (no personal data in a URL that proxies and mail scanners log). Verifying therefore needs
the addresses the lead was mailed at as candidates; the one whose MAC matches is the one
unsubscribed.

Pure: standard library only, no clock of its own (the caller passes ``now``). Errors never
quote a secret or a MAC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadflow.errors import UnsubscribeTokenError

VERSION = "v1"
TOKEN_TTL = timedelta(days=90)  # the link works ≥ 30 days after sending, with margin
ONE_CLICK = "List-Unsubscribe=One-Click"
MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class Unsubscribe:
    """What a verified token unsubscribes: a lead's contact point on a channel."""

    lead_id: str
    channel: str
    contact_point: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, lead_id: str, channel: str, point: str, expires: int) -> bytes:
    content = "\n".join((VERSION, lead_id, channel, point.strip().casefold(), str(expires)))
    return hmac.new(secret, content.encode("utf-8"), hashlib.sha256).digest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the unsubscribe secret must have at least {MIN_SECRET_BYTES} bytes")


def sign_unsubscribe(
    secret: bytes, lead_id: str, channel: str, contact_point: str, expires_at: datetime
) -> str:
    """The token for unsubscribing ``contact_point`` of ``lead_id`` on ``channel`` until
    ``expires_at`` (timezone-aware; whole seconds are kept)."""
    _check_secret(secret)
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expires = int(expires_at.timestamp())
    payload = "\n".join((VERSION, lead_id, channel, str(expires))).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(secret, lead_id, channel, contact_point, expires))}"


def token_lead(token: str) -> str:
    """The lead id a token names, unverified (to look up its candidate addresses); raises
    :class:`~leadflow.errors.UnsubscribeTokenError` ``bad_token`` when it is malformed."""
    return _parse(token)[0]


def _parse(token: str) -> tuple[str, str, int, bytes]:
    bad = UnsubscribeTokenError("bad_token", "the unsubscribe link is not valid")
    if len(token) > 1000 or token.count(".") != 1:
        raise bad
    payload, mac = token.split(".")
    try:
        fields = _unb64(payload).decode("utf-8").split("\n")
        digest = _unb64(mac)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if len(fields) != 4 or fields[0] != VERSION or not fields[3].isdigit() or len(digest) != 32:
        raise bad
    if not fields[1] or "\x00" in fields[1] or len(fields[3]) > 12:
        raise bad
    return fields[1], fields[2], int(fields[3]), digest


def verify_unsubscribe(
    secret: bytes, token: str, candidates: Iterable[str], now: datetime
) -> Unsubscribe:
    """The unsubscribe a token grants, if its MAC matches one of ``candidates`` (the lead's
    addresses) under ``secret`` and it has not expired at ``now``.

    Raises :class:`~leadflow.errors.UnsubscribeTokenError`: ``bad_token`` (malformed, or no
    candidate matches: tampered, another database's secret, or an address since erased) or
    ``expired`` (a genuine token past its expiry; checked after the MAC, so an edited expiry
    is ``bad_token``).
    """
    _check_secret(secret)
    lead_id, channel, expires, digest = _parse(token)
    matched = None
    for point in candidates:
        expected = _mac(secret, lead_id, channel, point, expires)
        if hmac.compare_digest(expected, digest):
            matched = point
    if matched is None:
        raise UnsubscribeTokenError("bad_token", "the unsubscribe link is not valid")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise UnsubscribeTokenError("expired", "the unsubscribe link has expired")
    return Unsubscribe(lead_id, channel, matched, expires_at)


def unsubscribe_url(base_url: str, token: str) -> str:
    """The link: ``{base_url}/u/{token}``."""
    return f"{base_url.rstrip('/')}/u/{token}"


def email_footer(url: str) -> str:
    """The plain-text footer every marketing email ends with."""
    return f"\n\n--\nTo stop these emails, unsubscribe here: {url}\n"


def one_click_headers(url: str) -> Mapping[str, str]:
    """``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 2369 and RFC 8058)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}
