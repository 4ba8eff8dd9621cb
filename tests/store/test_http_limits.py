"""What every request passes before a route: rate limits (per key, per person, per address;
in memory and in Redis), the body size limit, the security headers, and open local mode's
Host check and loopback-only serving."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadflow.adapters.ratelimit import RateLimiter
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.accounts import User
from tests.factories import bearer, create_key

LOCAL = "http://127.0.0.1"
REDIS_URL = os.environ.get("LEADFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _client(app: App) -> TestClient:
    return TestClient(create_app(app), base_url=LOCAL)


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_others_go_on(
    make_app: Callable[..., App], database_url: str
) -> None:
    app = make_app(rate_limit="3/minute")
    first, second = (
        create_key(database_url, "a", "analyst"),
        create_key(database_url, "b", "analyst"),
    )
    with _client(app) as client:
        answers = [client.get("/v1/playbooks", headers=bearer(first)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert client.get("/v1/playbooks", headers=bearer(second)).status_code == 200


def test_a_signed_in_person_has_a_rate_limit_of_their_own(
    make_app: Callable[..., App], sign_in: Callable[..., User]
) -> None:
    limited = make_app(rate_limit="4/minute")  # on the same database as sign_in's users
    with _client(limited) as client:
        sign_in(client, "ana@northwind.example", "analyst")
        codes = [client.get("/reports").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]


def test_an_address_over_its_limit_is_refused_before_anything_else(
    make_app: Callable[..., App],
) -> None:
    app = make_app(rate_limit_per_address="5/minute")
    with _client(app) as client:
        codes = [client.get("/v1/leads").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        assert client.get("/healthz").status_code == 200  # liveness is never limited


def _redis_or_skip() -> None:
    import redis  # noqa: PLC0415 (only this test needs the client)

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = (
            f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}); `bash .ci/run` starts it"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def redis_storage() -> Iterator[str]:
    _redis_or_skip()
    yield REDIS_URL
    RateLimiter("off", "off", REDIS_URL).reset()


def test_with_redis_two_api_processes_share_one_count(
    make_app: Callable[..., App], database_url: str, redis_storage: str
) -> None:
    limit = f"3/minute;{uuid.uuid4().int % 1000 + 1000}/day"  # a limit no other run shares
    key = create_key(database_url, "shared", "analyst")
    one = make_app(rate_limit=limit, rate_limit_storage=redis_storage)
    two = make_app(rate_limit=limit, rate_limit_storage=redis_storage)
    with _client(one) as first, _client(two) as second:
        codes = [
            first.get("/v1/playbooks", headers=bearer(key)).status_code,
            second.get("/v1/playbooks", headers=bearer(key)).status_code,
            first.get("/v1/playbooks", headers=bearer(key)).status_code,
            second.get("/v1/playbooks", headers=bearer(key)).status_code,
        ]
    assert codes == [200, 200, 200, 429]


def test_a_body_over_the_limit_gets_413_before_the_key_is_checked(
    make_app: Callable[..., App], database_url: str
) -> None:
    create_key(database_url, "crm", "marketing")
    app = make_app(max_body_bytes=2048)
    with _client(app) as client:
        declared = client.post(
            "/v1/events", content=b"x" * 4096, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(8):
                yield b"y" * 1024

        chunked = client.post(
            "/v1/events", content=chunks(), headers={"content-type": "application/json"}
        )
        assert chunked.status_code == 413
        signed = client.post(
            "/v1/webhooks/forms",
            content=b"z" * 4096,
            headers={"content-type": "application/json", "webhook-id": "msg_1"},
        )
        assert signed.status_code == 413  # before the signature is checked
        small = client.post("/v1/events", json={}, headers={})
        assert small.status_code == 401  # under the limit, the key is asked for


def test_every_response_carries_the_security_headers_and_pages_a_csp(client: TestClient) -> None:
    page = client.get("/leads")
    api = client.get("/v1/leads")
    for answer in (page, api):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "style=" not in page.text  # no inline style for the policy to block
    assert "content-security-policy" not in api.headers


def test_open_local_mode_answers_only_requests_addressed_to_this_machine(app: App) -> None:
    for base in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        with TestClient(create_app(app), base_url=base) as client:
            assert client.get("/v1/leads").status_code == 200, base
    with TestClient(create_app(app), base_url="http://attacker.example") as rebinding:
        refused = rebinding.get("/v1/leads")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "bad_host"
        assert rebinding.get("/leads").status_code == 400


def test_revoking_the_last_key_does_not_reopen_open_local_mode(
    client: TestClient, database_url: str
) -> None:
    key = create_key(database_url, "only", "admin")
    key_id = key.removeprefix("lf_").split("_")[0]
    revoked = CliRunner().invoke(cli, ["apikey", "revoke", key_id, "--database-url", database_url])
    assert revoked.exit_code == 0
    assert client.get("/v1/leads").status_code == 401
    assert client.get("/leads", follow_redirects=False).status_code == 303


def test_once_secured_any_host_name_works_with_credentials(
    make_app: Callable[..., App], database_url: str
) -> None:
    key = create_key(database_url, "crm", "analyst")
    with TestClient(create_app(make_app()), base_url="https://leadflow.clinic.example") as c:
        assert c.get("/v1/playbooks", headers=bearer(key)).status_code == 200
        assert c.get("/v1/playbooks").status_code == 401


def test_serve_refuses_to_listen_beyond_this_machine_in_open_local_mode(
    database_url: str,
) -> None:
    refused = CliRunner().invoke(
        cli,
        ["serve", "--host", "0.0.0.0", "--port", "8999", "--database-url", database_url],  # noqa: S104
    )
    assert refused.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in refused.output
    assert "leadflow user add" in refused.output
