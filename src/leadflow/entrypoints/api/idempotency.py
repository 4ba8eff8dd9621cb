"""``Idempotency-Key`` (COMPLIANCE.md): the key is claimed in the same transaction as the work.

Same key and same body → the stored response again (``Idempotent-Replayed: true``); same key
and a different body → 422; the same key while the first request is still running → 409.
Only successful responses are kept: a request that failed can be retried with its key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.bootstrap import App
from leadflow.errors import HttpError

Work = Callable[[SqlUnitOfWork], tuple[int, dict[str, Any]]]
MAX_KEY = 255


def body_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    app: App, key: str | None, scope: str, canonical_body: str, work: Work
) -> JSONResponse:
    """Run ``work`` once per key; answer with its (stored) status and body."""
    if key is not None and not (0 < len(key) <= MAX_KEY):
        raise HttpError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY} characters",
            [{"field": "Idempotency-Key", "row": None, "message": "bad length"}],
        )
    digest = body_hash(canonical_body)
    full_key = f"{scope}|{key}"

    def unit(store: SqlUnitOfWork) -> tuple[int, dict[str, Any], bool]:
        if key is not None:
            if not store.requests.claim_key(full_key):
                raise HttpError(
                    409,
                    "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still being processed; retry later",
                    headers={"Retry-After": "1"},
                )
            stored = store.requests.stored_response(full_key)
            if stored is not None:
                if stored[0] != digest:
                    raise HttpError(
                        422,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request body",
                        [{"field": "Idempotency-Key", "row": None, "message": "body differs"}],
                    )
                return stored[1], stored[2], True
        status, body = work(store)
        if key is not None:
            store.requests.save_response(full_key, digest, status, body, app.clock())
        return status, body, False

    status, body, replayed = app.db.run(unit)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status, headers=headers)
