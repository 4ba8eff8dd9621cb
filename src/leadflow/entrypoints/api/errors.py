"""The one JSON error shape, for every endpoint and every failure.

``{"error": {"code", "message", "problems": [{"field", "row", "message"}], "allowed"}}``.
Messages name fields and ids, never the values sent (they may be a patient's details).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadflow.errors import LeadflowError, RecordProblem


def error_body(
    code: str,
    message: str,
    problems: list[dict[str, Any]] | None = None,
    allowed: list[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "problems": problems or []}
    if allowed is not None:
        body["allowed"] = allowed
    return {"error": body}


def problem_dicts(problems: list[RecordProblem], prefix: str = "") -> list[dict[str, Any]]:
    """Record problems as API problems (``row`` is the item number in a batch)."""
    return [
        {"field": f"{prefix}{p.field}" if p.field else None, "row": p.row, "message": p.message}
        for p in problems
    ]


_UNION_MEMBERS = {"EventIn": False, "EventBatchIn": True}


def _validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as problems; for a one-or-batch body, only the shape that was sent.

    Items of a list are reported by ``row`` (1-based) and their own field name.
    """
    body = exc.body
    sent_batch = isinstance(body, dict) and "events" in body
    problems = []
    for item in exc.errors():
        loc: list[Any] = [part for part in item.get("loc", ()) if part != "body"]
        if loc and loc[0] in _UNION_MEMBERS:
            if _UNION_MEMBERS[loc[0]] != sent_batch:
                continue
            loc = loc[1:]
        row = None
        if len(loc) >= 2 and isinstance(loc[1], int):
            row, loc = loc[1] + 1, loc[2:]
        field = ".".join(str(part) for part in loc) or None
        problems.append({"field": field, "row": row, "message": item["msg"]})
    return problems


def _respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, expected or not, with the shared shape: leadflow's own errors by
    the status and code their class declares (:mod:`leadflow.errors`), the framework's by
    theirs."""

    @app.exception_handler(LeadflowError)
    async def _leadflow(_: Request, exc: LeadflowError) -> Any:
        if exc.status >= 500:  # a bug, not a refusal: say nothing of what it was about
            return _unexpected_answer(exc)
        body = error_body(exc.http_code(), exc.http_message(), exc.http_problems(), exc.allowed)
        return _respond(exc.status, body, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Any:
        problems = _validation_problems(exc)
        return _respond(
            422, error_body("invalid_request", f"{len(problems)} invalid field(s)", problems)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 400:  # a body FastAPI could not read (not UTF-8, not JSON)
            return _respond(422, error_body("invalid_json", "the body is not JSON"))
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return _respond(exc.status_code, error_body(code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Any:
        return _unexpected_answer(exc)


def _unexpected_answer(exc: Exception) -> Any:
    return _respond(
        500, error_body("internal_error", f"unexpected {type(exc).__name__}; see the log")
    )
