"""A real HTTP server for tests: ``create_app(app)`` under uvicorn on a loopback port.

``serve(app)`` binds a listening socket on 127.0.0.1 with a free port *before* the server
thread starts, so a client can connect at once: the kernel queues the connection until
uvicorn accepts it. The context manager then asks ``/healthz`` until it answers 200 (each
try blocks on the server, no sleeping), yields the base URL, and on exit tells uvicorn to
stop, joins its thread and closes the socket. The server's logging is left alone (no
``dictConfig`` of the test process) and an error in the server thread fails the test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App

STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 20.0


class ServerError(RuntimeError):
    """The test server did not start or did not stop."""


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _wait_until_healthy(
    base_url: str, thread: threading.Thread, failure: list[BaseException]
) -> None:
    tries = int(STARTUP_TIMEOUT_S / 0.5)
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(0.5, connect=2.0)) as client:
        for _ in range(tries):
            if not thread.is_alive():
                cause = failure[0] if failure else None
                raise ServerError("the uvicorn thread ended before /healthz answered") from cause
            try:
                response = client.get("/healthz")
            except httpx.TimeoutException:
                continue  # the server has not started accepting yet
            if response.status_code == 200:
                return
            raise ServerError(f"/healthz answered {response.status_code}: {response.text}")
    raise ServerError(f"/healthz did not answer within {STARTUP_TIMEOUT_S} s")


@contextmanager
def serve(app: App) -> Iterator[str]:
    """Serve ``create_app(app)`` on a free loopback port; yield ``http://127.0.0.1:<port>``."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(app),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, thread, failure)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()
        if thread.is_alive():
            raise ServerError(f"the uvicorn thread did not stop within {SHUTDOWN_TIMEOUT_S} s")
    if failure:
        raise ServerError("the uvicorn server failed") from failure[0]
