"""Outbound webhooks' transactional outbox (``uow.outbox``): endpoints (add, list, disable,
enable), messages queued with the change they report, claimed by the worker under a lease,
settled, dead-lettered and replayed.

Secrets are generated here (``whsec_`` + 32 random bytes in base64) and stored as they are
(the worker signs with them); they are shown once when an endpoint is added and never listed.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import WebhookEndpointRow, WebhookOutboxRow
from leadflow.services.routing.assign import ASSIGNED
from leadflow.services.routing.sla import SLA_BREACHED
from leadflow.services.store.lifecycle import STAGE_CHANGED

EVENT_TYPES = (STAGE_CHANGED, ASSIGNED, SLA_BREACHED)
RETRY_WINDOW = timedelta(days=3)  # outbound webhooks are retried this long, then dead-lettered
_ENDPOINTS = cast(Table, WebhookEndpointRow.__table__)
_OUTBOX = cast(Table, WebhookOutboxRow.__table__)


@dataclass(frozen=True)
class Endpoint:
    """An endpoint's public part (never its secret)."""

    endpoint_id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """A message that will not be retried any more (until replayed)."""

    msg_id: str
    endpoint_id: str
    event_type: str
    attempts: int
    last_status: int | None
    last_error: str | None
    dead_at: datetime | None


def check_url(url: str) -> str:
    """An ``http``/``https`` URL with a host; ``ValueError`` otherwise (private targets are
    refused when delivering, where the host is resolved)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("the webhook URL must be http:// or https:// with a host")
    return url


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _add_endpoint(
    session: Session, url: str, event_types: list[str], at: datetime
) -> tuple[Endpoint, str]:
    """A new enabled endpoint and its secret (returned once)."""
    check_url(url)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise ValueError(f"unknown event type(s) {unknown}; expected some of {list(EVENT_TYPES)}")
    endpoint_id = "ep_" + secrets.token_hex(6)
    secret = new_secret()
    wanted = sorted(set(event_types))
    session.execute(
        insert(_ENDPOINTS).values(
            id=endpoint_id,
            url=url,
            secret=secret,
            event_types=wanted,
            enabled=True,
            disabled_reason=None,
            created_at=at,
        )
    )
    return Endpoint(endpoint_id, url, wanted, True, None, at), secret


def _list_endpoints(session: Session) -> list[Endpoint]:
    rows = session.execute(select(_ENDPOINTS).order_by(_ENDPOINTS.c.created_at, _ENDPOINTS.c.id))
    return [
        Endpoint(r.id, r.url, list(r.event_types), r.enabled, r.disabled_reason, r.created_at)
        for r in rows
    ]


def _disable_endpoint(session: Session, endpoint_id: str, reason: str, at: datetime) -> bool:
    """Disable the endpoint; its pending messages become dead letters. ``False`` if unknown."""
    done = session.execute(
        update(_ENDPOINTS)
        .where(_ENDPOINTS.c.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason)
    )
    if cast(Any, done).rowcount == 0:
        return False
    session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.endpoint_id == endpoint_id,
            _OUTBOX.c.delivered_at.is_(None),
            _OUTBOX.c.dead.is_(False),
        )
        .values(dead=True, dead_at=at, last_error="endpoint disabled")
    )
    return True


def _enable_endpoint(session: Session, endpoint_id: str) -> bool:
    """Enable the endpoint again (its dead letters stay dead until replayed). ``False`` if
    unknown."""
    done = session.execute(
        update(_ENDPOINTS)
        .where(_ENDPOINTS.c.id == endpoint_id)
        .values(enabled=True, disabled_reason=None)
    )
    return bool(cast(Any, done).rowcount)


def _dead_letters(session: Session) -> list[DeadLetter]:
    rows = session.execute(
        select(_OUTBOX).where(_OUTBOX.c.dead.is_(True)).order_by(_OUTBOX.c.dead_at, _OUTBOX.c.id)
    )
    return [
        DeadLetter(
            r.msg_id,
            r.endpoint_id,
            r.event_type,
            r.attempts,
            r.last_status,
            r.last_error,
            r.dead_at,
        )
        for r in rows
    ]


def _replay(session: Session, msg_id: str | None, at: datetime) -> list[str]:
    """Queue dead letters again (one by ``msg_id``, or all with ``None``) under the same
    message id, with a fresh retry window; messages of disabled endpoints stay dead."""
    enabled = select(_ENDPOINTS.c.id).where(_ENDPOINTS.c.enabled.is_(True))
    query = select(_OUTBOX.c.msg_id).where(
        _OUTBOX.c.dead.is_(True), _OUTBOX.c.endpoint_id.in_(enabled)
    )
    if msg_id is not None:
        query = query.where(_OUTBOX.c.msg_id == msg_id)
    ids = list(session.scalars(query.order_by(_OUTBOX.c.id)))
    if ids:
        session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.msg_id.in_(ids))
            .values(
                dead=False,
                dead_at=None,
                attempts=0,
                next_attempt_at=at,
                retry_until=at + RETRY_WINDOW,
            )
        )
    return ids


@dataclass(frozen=True)
class OutboxMessage:
    """A message claimed for delivery, with its endpoint's address and secret."""

    row_id: int
    msg_id: str
    endpoint_id: str
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int
    retry_until: datetime


class SqlWebhookOutbox:
    """The outbox on one session (``uow.outbox``)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._enabled: list[tuple[str, list[Any]]] | None = None

    def enqueue(self, event_type: str, payload: dict[str, Any], at: datetime) -> int:
        """One message per enabled endpoint subscribed to ``event_type``, written in this
        unit of work (sent after commit by the worker); how many were added."""
        if self._enabled is None:
            # One small query per unit of work, and only when something is to be sent.
            query = (
                select(_ENDPOINTS.c.id, _ENDPOINTS.c.event_types)
                .where(_ENDPOINTS.c.enabled.is_(True))
                .order_by(_ENDPOINTS.c.id)
            )
            self._enabled = [(row.id, row.event_types) for row in self._session.execute(query)]
        rows = [
            {
                "endpoint_id": endpoint_id,
                "msg_id": "msg_" + secrets.token_hex(12),
                "event_type": event_type,
                "payload": payload,
                "created_at": at,
                "next_attempt_at": at,
                "retry_until": at + RETRY_WINDOW,
                "attempts": 0,
                "dead": False,
            }
            for endpoint_id, event_types in self._enabled
            if event_type in event_types
        ]
        if rows:
            self._session.execute(insert(_OUTBOX), rows)
        return len(rows)

    def add_endpoint(self, url: str, event_types: list[str], at: datetime) -> tuple[Endpoint, str]:
        return _add_endpoint(self._session, url, event_types, at)

    def endpoints(self) -> list[Endpoint]:
        return _list_endpoints(self._session)

    def disable(self, endpoint_id: str, reason: str, at: datetime) -> bool:
        return _disable_endpoint(self._session, endpoint_id, reason, at)

    def enable(self, endpoint_id: str) -> bool:
        return _enable_endpoint(self._session, endpoint_id)

    def dead_letters(self) -> list[DeadLetter]:
        return _dead_letters(self._session)

    def replay(self, msg_id: str | None, at: datetime) -> list[str]:
        return _replay(self._session, msg_id, at)

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Up to ``limit`` messages due at ``now`` for enabled endpoints, each held until
        ``now + lease`` (its attempt counted); on PostgreSQL rows another worker holds are
        skipped, not waited for, so no message is sent twice at once."""
        enabled = select(_ENDPOINTS.c.id).where(_ENDPOINTS.c.enabled.is_(True))
        query = (
            select(
                _OUTBOX.c.id,
                _OUTBOX.c.msg_id,
                _OUTBOX.c.endpoint_id,
                _OUTBOX.c.payload,
                _OUTBOX.c.attempts,
                _OUTBOX.c.retry_until,
            )
            .where(
                _OUTBOX.c.dead.is_(False),
                _OUTBOX.c.delivered_at.is_(None),
                _OUTBOX.c.next_attempt_at <= now,
                _OUTBOX.c.endpoint_id.in_(enabled),
            )
            .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        rows = self._session.execute(query).all()
        if not rows:
            return []
        endpoints = {
            r.id: (r.url, r.secret)
            for r in self._session.execute(
                select(_ENDPOINTS.c.id, _ENDPOINTS.c.url, _ENDPOINTS.c.secret).where(
                    _ENDPOINTS.c.id.in_({r.endpoint_id for r in rows})
                )
            )
        }
        self._session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_([r.id for r in rows]))
            .values(attempts=_OUTBOX.c.attempts + 1, next_attempt_at=now + lease)
        )
        return [
            OutboxMessage(
                r.id,
                r.msg_id,
                r.endpoint_id,
                endpoints[r.endpoint_id][0],
                endpoints[r.endpoint_id][1],
                r.payload,
                r.attempts + 1,
                r.retry_until,
            )
            for r in rows
        ]

    def settle(self, row_id: int, values: dict[str, Any]) -> None:
        """Write an attempt's outcome on a message not yet delivered."""
        row = (_OUTBOX.c.id == row_id) & _OUTBOX.c.delivered_at.is_(None)
        self._session.execute(update(_OUTBOX).where(row).values(**values))
