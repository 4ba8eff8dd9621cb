"""Fixtures for the lead store: the same tests run on SQLite and on PostgreSQL.

PostgreSQL is reached at ``LEADFLOW_TEST_POSTGRES_URL`` (default: the local server with trust
auth, database ``test``); each test session works in a schema of its own, dropped at the
end. Without a server the PostgreSQL half skips with the reason, except under ``CI=true``,
where ``.ci/run`` has started one and a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from leadflow.adapters.db.engine import make_engine
from leadflow.adapters.db.migrate import upgrade
from leadflow.adapters.db.tables import Base
from leadflow.adapters.webhooks import sign_webhook
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.settings import Settings
from leadflow.services.accounts import User, add_user
from tests.fakes import FakeClock
from tests.store.receiver import Receiver, serve_receiver

LOCAL = "http://127.0.0.1"  # open local mode answers requests addressed to this machine only

PG_URL = os.environ.get(
    "LEADFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PASSWORD = "correct horse battery staple"


def webhook_headers(delivery_id: str, stamp: int, body: bytes) -> dict[str, str]:
    """The headers of a JSON delivery signed with ``WEBHOOK_SECRET`` at ``stamp``."""
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_webhook(WEBHOOK_SECRET, delivery_id, stamp, body),
        "content-type": "application/json",
    }


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "no server here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A migrated PostgreSQL schema of this session's own (dropped afterwards)."""
    why = _postgres_available()
    if why is not None:
        message = f"PostgreSQL not reachable at {PG_URL} ({why}); `bash .ci/run` starts it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    schema = f"lf_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _empty_tables(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, or this session's PostgreSQL schema."""
    if request.param == "sqlite":
        sqlite_url = f"sqlite:///{tmp_path / 'leadflow.db'}"
        engine = make_engine(sqlite_url)
        upgrade(engine)
        engine.dispose()
        return sqlite_url
    url: str = request.getfixturevalue("postgres_schema_url")
    _empty_tables(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_app(database_url: str, clock: FakeClock) -> Iterator[Callable[..., App]]:
    """Wire an :class:`App` on the test database (extra settings as keyword arguments)."""
    made: list[App] = []

    def build(**settings: object) -> App:
        given: dict[str, object] = {"webhook_secrets": {"forms": [WEBHOOK_SECRET]}, **settings}
        config = Settings(database_url=database_url, **given)  # type: ignore[arg-type]
        app = bootstrap(config, clock=clock)
        made.append(app)
        return app

    yield build
    for app in made:
        app.db.dispose()


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


@pytest.fixture
def sign_in(app: App) -> Callable[..., User]:
    """Create a user with a role and sign a test client in through the real ``/login`` form
    (the password is :data:`PASSWORD`)."""

    def do(client: TestClient, email: str, role: str, name: str | None = None) -> User:
        user = app.db.run(
            lambda store: add_user(
                store.accounts,
                app.passwords,
                email,
                role,
                name=name,
                password=PASSWORD,
                actor="test",
                at=app.clock(),
            )
        )
        client.get("/login")
        answer = client.post(
            "/login",
            data={
                "email": email,
                "password": PASSWORD,
                "csrf": client.cookies["leadflow_csrf"],
                "next": "/",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return user

    return do


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url=LOCAL, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that answers from a script."""
    with serve_receiver() as state:
        yield state


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False) as client:
        yield client
