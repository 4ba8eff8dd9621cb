"""A real OpenID provider for tests, and a leadflow server whose public URL is its own.

``oidc_provider(...)`` runs the ``oidc-provider-mock`` package (a Flask app under uvicorn)
as a subprocess on a free loopback port, waits until its discovery document answers, and
always terminates it on exit. Without the package the test skips with the reason, except
under ``CI``, where a missing package is a failure.

``serve_with_public_url(make_app)`` is :func:`tests.store.live.serve` for an app that must
know its own address: single sign-on sends the provider a redirect URI built from
``LEADFLOW_PUBLIC_URL``, so the listening socket is bound first and the :class:`App` is then
made by ``make_app(base_url)`` — wired by ``bootstrap`` exactly as in production — before
uvicorn serves it on that socket.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from tests.store.live import (
    SHUTDOWN_TIMEOUT_S,
    ServerError,
    _listening_socket,
    _wait_until_healthy,
)

PACKAGE = "oidc_provider_mock"
STARTUP_TIMEOUT_S = 10.0
POLL_S = 0.05
STOP_TIMEOUT_S = 5.0


class ProviderError(RuntimeError):
    """The provider process did not start or answered unexpectedly."""


@dataclass(frozen=True)
class Provider:
    """A running provider: its issuer URL (also its base URL) and its log file."""

    issuer: str
    log: Path

    def set_user(self, sub: str, claims: Mapping[str, Any]) -> None:
        """Create or replace the claims of the person ``sub`` (``PUT /users/<sub>``)."""
        body = {k: v for k, v in claims.items() if k != "sub"}
        answer = httpx.put(f"{self.issuer}/users/{sub}", json=body, timeout=5.0)
        if answer.status_code != 204:
            raise ProviderError(f"PUT /users/{sub} answered {answer.status_code}: {answer.text}")


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _package_or_skip() -> None:
    if importlib.util.find_spec(PACKAGE) is None:
        message = f"the `{PACKAGE}` package is not installed (pip install oidc-provider-mock)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _wait_until_ready(issuer: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Ask the discovery document until it answers 200 (at most STARTUP_TIMEOUT_S)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    url = f"{issuer}/.well-known/openid-configuration"
    with httpx.Client(timeout=httpx.Timeout(1.0)) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProviderError(
                    f"the provider exited with {process.returncode} before answering:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            try:
                answer = client.get(url)
            except httpx.TransportError:
                time.sleep(POLL_S)  # not listening yet
                continue
            if answer.status_code != 200 or answer.json().get("issuer") != issuer:
                raise ProviderError(f"{url} answered {answer.status_code}: {answer.text[:500]}")
            return
    raise ProviderError(
        f"the provider did not answer within {STARTUP_TIMEOUT_S} s:\n"
        + log.read_text(errors="replace")[-2000:]
    )


@contextmanager
def oidc_provider(folder: Path, *predefined: dict[str, Any]) -> Iterator[Provider]:
    """Run ``python -m oidc_provider_mock`` on a free port with the ``predefined`` people
    (each a claims object with ``sub``); yield it, and terminate it on exit."""
    _package_or_skip()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = folder / f"oidc-provider-{port}.log"
    command = [sys.executable, "-m", PACKAGE, "--host", "127.0.0.1", "--port", str(port)]
    for claims in predefined:
        command += ["--user-claims", json.dumps(claims)]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    try:
        _wait_until_ready(issuer, process, log)
        yield Provider(issuer, log)
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


@contextmanager
def serve_with_public_url(make_app: Callable[[str], App]) -> Iterator[tuple[App, str]]:
    """Bind a free loopback port, make the app with that address as its public URL, serve
    it under uvicorn; yield ``(app, "http://127.0.0.1:<port>")``."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    try:
        app = make_app(base_url)
    except BaseException:
        sock.close()
        raise
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-sso-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_healthy(base_url, thread, failure)
        yield app, base_url
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()
        app.db.dispose()
        if thread.is_alive():
            raise ServerError(f"the uvicorn thread did not stop within {SHUTDOWN_TIMEOUT_S} s")
    if failure:
        raise ServerError("the uvicorn server failed") from failure[0]
