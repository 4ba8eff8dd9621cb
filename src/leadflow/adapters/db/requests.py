"""Idempotency keys and inbound webhook deliveries: what a request already got
(``uow.requests``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import IdempotencyRow, WebhookDeliveryRow


class SqlRequests:
    """Claims and stored answers, on the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def claim_key(self, key: str) -> bool:
        """Hold ``key`` for this transaction; ``False`` if another transaction holds it."""
        if self.dialect != "postgresql":
            return True  # SQLite runs one writing transaction at a time
        return bool(
            self.session.scalar(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
            )
        )

    def stored_response(self, key: str) -> tuple[str, int, dict[str, Any]] | None:
        row = self.session.get(IdempotencyRow, key)
        return None if row is None else (row.request_hash, row.status_code, row.response)

    def save_response(
        self, key: str, request_hash: str, status: int, body: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            IdempotencyRow(
                key=key, request_hash=request_hash, status_code=status, response=body, created_at=at
            )
        )
        self.session.flush()

    def delivery(self, source: str, delivery_id: str) -> tuple[int, dict[str, Any]] | None:
        row = self.session.get(WebhookDeliveryRow, (source, delivery_id))
        return None if row is None else (row.status_code, row.response)

    def save_delivery(
        self, source: str, delivery_id: str, status: int, body: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            WebhookDeliveryRow(
                source=source,
                delivery_id=delivery_id,
                received_at=at,
                status_code=status,
                response=body,
            )
        )
        self.session.flush()
