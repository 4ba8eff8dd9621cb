"""What every HTTP request passes before any route: a rate limit per client address, a
limit on the body's size (413 before it is read whole; signed webhooks included, before
their signature is checked), and the security headers every response carries.

Pure ASGI middleware, so a refused request costs no route, no body parsing and no database.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from leadflow.adapters.ratelimit import RateLimiter
from leadflow.entrypoints.api.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# No inline script or style, nothing from another origin, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# The interactive API documents load FastAPI's own script and style from its CDN page.
NO_CSP_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
UNLIMITED_PATHS = frozenset({"/healthz"})


async def _refuse(
    send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLargeError(HTTPException):
    """A body that passed its declared length, or had none, grew over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class Guards:
    """Address rate limit, body size limit and security headers around the application."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, max_body: int) -> None:
        self.app = app
        self.limiter = limiter
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        secure = _secured_send(send, path)
        if path not in UNLIMITED_PATHS:
            client = scope.get("client")
            address = client[0] if client else "unknown"
            wait = self.limiter.hit("address", address)
            if wait is not None:
                await _refuse(
                    secure,
                    429,
                    "rate_limited",
                    f"too many requests from this address; try again in {wait} s",
                    [(b"retry-after", str(wait).encode())],
                )
                return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            message = f"the request body is over the limit of {self.max_body} bytes"
            await _refuse(secure, 413, "payload_too_large", message, [])
            return
        await self.app(scope, _counted(receive, self.max_body), secure)


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a body growing past ``limit`` (chunked uploads)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(limit)
        return message

    return wrapped


def _secured_send(send: Send, path: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in HEADERS if n not in present]
            content_type = Headers(raw=headers).get("content-type", "")
            if content_type.startswith("text/html") and path not in NO_CSP_PATHS:
                headers.append((b"content-security-policy", CSP.encode()))
            message["headers"] = headers
        await send(message)

    return wrapped
