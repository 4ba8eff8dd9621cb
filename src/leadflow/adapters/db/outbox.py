"""Outbound webhook endpoints and the outbox's dead letters: add, list, disable, replay.

Secrets are generated here (``whsec_`` + 32 random bytes in base64) and stored as they are
(the worker signs with them); they are shown once when an endpoint is added and never listed.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from leadflow.adapters.db.store import RETRY_WINDOW
from leadflow.adapters.db.tables import WebhookEndpointRow, WebhookOutboxRow
from leadflow.services.routing.assign import ASSIGNED
from leadflow.services.routing.sla import SLA_BREACHED
from leadflow.services.store.lifecycle import STAGE_CHANGED

EVENT_TYPES = (STAGE_CHANGED, ASSIGNED, SLA_BREACHED)
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


def add_endpoint(
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


def list_endpoints(session: Session) -> list[Endpoint]:
    rows = session.execute(select(_ENDPOINTS).order_by(_ENDPOINTS.c.created_at, _ENDPOINTS.c.id))
    return [
        Endpoint(r.id, r.url, list(r.event_types), r.enabled, r.disabled_reason, r.created_at)
        for r in rows
    ]


def disable_endpoint(session: Session, endpoint_id: str, reason: str, at: datetime) -> bool:
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


def enable_endpoint(session: Session, endpoint_id: str) -> bool:
    """Enable the endpoint again (its dead letters stay dead until replayed). ``False`` if
    unknown."""
    done = session.execute(
        update(_ENDPOINTS)
        .where(_ENDPOINTS.c.id == endpoint_id)
        .values(enabled=True, disabled_reason=None)
    )
    return bool(cast(Any, done).rowcount)


def dead_letters(session: Session) -> list[DeadLetter]:
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


def replay(session: Session, msg_id: str | None, at: datetime) -> list[str]:
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
