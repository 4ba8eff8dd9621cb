"""Pruning what is kept only for a while: idempotency keys (≥ 24 h) and inbound webhook
delivery ids (≥ 7 days), per COMPLIANCE.md, and sessions and failed sign-in counts that no
longer matter (a day after they ended). Nothing of a lead's history, and no audit record or
read of a record, is ever pruned."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import IdempotencyRow, WebhookDeliveryRow
from leadflow.adapters.db.tables_people import SignInFailureRow, UserSessionRow

MIN_KEY_AGE = timedelta(hours=24)
MIN_DELIVERY_AGE = timedelta(days=7)


class SqlRetention:
    """What is kept only for a while, pruned in a unit of work (``uow.retention``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def requests(
        self, now: datetime, key_age: timedelta, delivery_age: timedelta
    ) -> tuple[int, int]:
        """Idempotency keys and inbound delivery ids past their ages: (keys, deliveries)."""
        return prune(self._session, now, key_age, delivery_age)

    def sign_ins(self, now: datetime) -> tuple[int, int]:
        """Ended sessions and stale failure counts: (sessions, counts)."""
        return prune_sign_ins(self._session, now)


def prune(
    session: Session, now: datetime, key_age: timedelta, delivery_age: timedelta
) -> tuple[int, int]:
    """Delete idempotency keys older than ``key_age`` and delivery ids older than
    ``delivery_age``; (keys, deliveries) deleted. Shorter ages than the promised ones are
    refused."""
    if key_age < MIN_KEY_AGE:
        raise ValueError("idempotency keys are kept at least 24 hours")
    if delivery_age < MIN_DELIVERY_AGE:
        raise ValueError("webhook delivery ids are kept at least 7 days")
    keys = session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < now - key_age))
    deliveries = session.execute(
        delete(WebhookDeliveryRow).where(WebhookDeliveryRow.received_at < now - delivery_age)
    )
    return int(cast(Any, keys).rowcount or 0), int(cast(Any, deliveries).rowcount or 0)


ENDED_AGE = timedelta(days=1)


def prune_sign_ins(session: Session, now: datetime) -> tuple[int, int]:
    """Delete sessions that ended (revoked, or past their lifetime) more than a day ago, and
    failed sign-in counts whose window and lock passed more than a day ago; (sessions,
    counts) deleted. Sign-ins and their failures stay in the audit log."""
    cutoff = now - ENDED_AGE
    sessions = session.execute(
        delete(UserSessionRow).where(
            (UserSessionRow.revoked_at < cutoff) | (UserSessionRow.expires_at < cutoff)
        )
    )
    counts = session.execute(
        delete(SignInFailureRow).where(
            SignInFailureRow.first_at < cutoff,
            (SignInFailureRow.locked_until.is_(None)) | (SignInFailureRow.locked_until < cutoff),
        )
    )
    return int(cast(Any, sessions).rowcount or 0), int(cast(Any, counts).rowcount or 0)
