"""Signing in to the dashboard: passwords, sessions, throttling, and bad input answered
clearly — never a 500, never a page shown to someone not signed in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from leadflow.adapters.db.tables import AuditRow
from leadflow.adapters.db.tables_people import SignInFailureRow, UserSessionRow
from leadflow.entrypoints.api.app import create_app
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.cli import app as cli
from leadflow.services.accounts import User
from tests.store.conftest import PASSWORD, FakeClock

EMAIL = "ana@northwind.example"


def _login(
    client: TestClient, email: str = EMAIL, password: str = PASSWORD, next_: str = "/leads"
) -> object:
    client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf": client.cookies["leadflow_csrf"],
            "next": next_,
        },
        follow_redirects=False,
    )


def _actions(app: App, action: str) -> list[tuple[str, str | None, str]]:
    """(entity id, reason, action) of each audit record of ``action``, in order."""
    with app.db.read() as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
        )
        return [(r.entity_id, r.reason, r.action) for r in rows]


@pytest.fixture
def ana(client: TestClient, sign_in: Callable[..., User]) -> User:
    user = sign_in(client, EMAIL, "intake", "Ana Souza")
    client.post("/logout", data={"csrf": client.cookies["leadflow_csrf"]})
    return user


def test_a_person_signs_in_and_lands_where_they_were_going(
    client: TestClient, ana: User, app: App
) -> None:
    assert client.get("/leads", follow_redirects=False).headers["location"] == (
        "/login?next=%2Fleads"
    )
    answer = _login(client)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/leads"  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "leadflow_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    page = client.get("/leads")
    assert page.status_code == 200
    assert "Ana Souza" in page.text
    assert [reason for _, reason, _ in _actions(app, "user.signed_in")][-1] == "password"
    with app.db.read() as session:
        (stored,) = session.scalars(select(UserSessionRow.id)).all()[-1:]
    assert stored not in cookie  # only the cookie's hash is kept


def test_sign_out_ends_the_session_for_good(client: TestClient, ana: User) -> None:
    _login(client)
    cookie = client.cookies["leadflow_session"]
    client.post("/logout", data={"csrf": client.cookies["leadflow_csrf"]})
    client.cookies.set("leadflow_session", cookie)  # a copy of the old cookie
    assert client.get("/leads", follow_redirects=False).status_code == 303


def test_over_https_the_session_cookie_is_secure(app: App, ana: User) -> None:
    with TestClient(create_app(app), base_url="https://127.0.0.1") as browser:
        answer = _login(browser)
    assert "Secure" in answer.headers["set-cookie"]  # type: ignore[attr-defined]


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    client: TestClient, ana: User, app: App
) -> None:
    wrong = _login(client, password="not the password at all")
    unknown = _login(client, email="nobody@northwind.example")
    for answer in (wrong, unknown):
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "Wrong email or password." in answer.text  # type: ignore[attr-defined]
    failed = _actions(app, "user.sign_in_failed")
    assert [(entity, reason) for entity, reason, _ in failed] == [
        (ana.user_id, "wrong password"),
        ("unknown", "wrong password"),
    ]
    assert "nobody" not in str(failed)


def test_five_failures_lock_the_account_even_for_the_right_password_until_a_reset(
    client: TestClient, ana: User, clock: FakeClock, database_url: str, app: App
) -> None:
    for _ in range(4):
        assert _login(client, password="guess guess guess").status_code == 401  # type: ignore[attr-defined]
    locked = _login(client, password="guess guess guess")
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-ins: try again in 15 minutes" in locked.text  # type: ignore[attr-defined]
    assert locked.headers["retry-after"] == "900"  # type: ignore[attr-defined]
    assert _login(client).status_code == 429  # type: ignore[attr-defined]
    with app.db.read() as session:
        keys = session.scalars(select(SignInFailureRow.key)).all()
    plain = hashlib.sha256(f"account:{EMAIL}".encode()).hexdigest()
    assert keys
    assert EMAIL not in str(keys)
    assert plain not in keys  # a keyed hash: what was typed cannot be guessed back
    clock.advance(minutes=16)
    assert _login(client).status_code == 303  # type: ignore[attr-defined]

    for _ in range(5):
        _login(client, password="guess guess guess")
    assert _login(client).status_code == 429  # type: ignore[attr-defined]
    reset = CliRunner().invoke(
        cli,
        ["user", "reset-password", EMAIL, "--password-stdin", "--database-url", database_url],
        input="a brand new password\n",
    )
    assert reset.exit_code == 0, reset.output
    assert _login(client, password="a brand new password").status_code == 303  # type: ignore[attr-defined]


def test_an_address_with_many_failures_is_locked_for_every_account(
    make_app: Callable[..., App], sign_in: Callable[..., User]
) -> None:
    app = make_app(sign_in_address_failures=3)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as browser:
        for n in range(3):
            _login(browser, email=f"guess{n}@northwind.example")
        answer = _login(browser, email="someone@northwind.example")
    assert answer.status_code == 429  # type: ignore[attr-defined]


def test_the_session_ends_after_30_idle_minutes_and_after_its_lifetime(
    client: TestClient, ana: User, clock: FakeClock
) -> None:
    _login(client)
    clock.advance(minutes=29)
    assert client.get("/leads").status_code == 200  # and the idle timer starts again
    clock.advance(minutes=29)
    assert client.get("/leads").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/leads", follow_redirects=False).status_code == 303
    _login(client)
    for _ in range(25):  # busy all day: the absolute lifetime still ends it
        clock.advance(minutes=29)
        client.get("/leads", follow_redirects=False)
    assert client.get("/leads", follow_redirects=False).status_code == 303


def test_disabling_a_user_or_changing_their_role_ends_their_session_at_once(
    client: TestClient, ana: User, database_url: str, app: App
) -> None:
    _login(client)
    runner = CliRunner()
    changed = runner.invoke(
        cli, ["user", "set-role", EMAIL, "marketing", "--database-url", database_url]
    )
    assert changed.exit_code == 0, changed.output
    assert client.get("/leads", follow_redirects=False).status_code == 303
    _login(client)
    assert "marketing" in client.get("/leads").text
    disabled = runner.invoke(cli, ["user", "disable", EMAIL, "--database-url", database_url])
    assert disabled.exit_code == 0
    assert "1 session(s) ended" in disabled.stdout
    assert client.get("/leads", follow_redirects=False).status_code == 303
    refused = _login(client)  # refused like a wrong password: it confirms nothing
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong email or password." in refused.text  # type: ignore[attr-defined]
    assert [entity for entity, _, _ in _actions(app, "user.disabled")] == [ana.user_id]
    assert "disabled" in [reason for _, reason, _ in _actions(app, "user.sign_in_failed")]


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({"email": EMAIL, "password": PASSWORD}, 403, "The form expired"),
        ({"email": EMAIL, "password": PASSWORD, "csrf": "forged"}, 403, "The form expired"),
        ({"email": EMAIL, "password": PASSWORD, "csrf": "fälschung"}, 403, "The form expired"),
        ({"email": "", "password": ""}, 422, "Enter your email and password."),
        ({"email": "x" * 400, "password": "y"}, 422, "at most 320 characters"),
        ({"email": "ana\x00@northwind.example", "password": "y"}, 422, "email"),
    ],
)
def test_bad_sign_in_input_gets_a_clear_answer_and_never_a_500(
    client: TestClient, ana: User, data: dict[str, str], status: int, words: str
) -> None:
    client.get("/login")
    if "csrf" not in data and data.get("email") == "":
        data = {**data, "csrf": client.cookies["leadflow_csrf"]}
    if len(data.get("email", "")) > 320 or "\x00" in data.get("email", ""):
        data = {**data, "csrf": client.cookies["leadflow_csrf"]}
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == status, answer.text
    assert words in answer.text
    assert "leadflow_session" not in answer.headers.get("set-cookie", "")


def test_a_huge_sign_in_body_is_refused_before_it_is_read(client: TestClient, ana: User) -> None:
    answer = client.post(
        "/login",
        content=b"email=a&password=" + b"x" * (5 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_sign_in_never_sends_the_browser_to_another_site(client: TestClient, ana: User) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = _login(client, next_=target)
        assert answer.headers["location"] == "/"  # type: ignore[attr-defined]
        client.post("/logout", data={"csrf": client.cookies["leadflow_csrf"]})


def test_a_signed_in_session_reads_the_api_but_changes_need_a_key(
    client: TestClient, ana: User
) -> None:
    _login(client)
    assert client.get("/v1/leads").status_code == 200
    refused = client.post("/v1/leads", json={"lead_id": "X"})
    assert refused.status_code == 401
    assert "reads the API only" in refused.json()["error"]["message"]


def test_pruning_deletes_ended_sessions_and_stale_failure_counts_but_not_live_ones(
    client: TestClient, ana: User, app: App, clock: FakeClock
) -> None:
    _login(client, password="not the password at all")
    _login(client)  # a live session; the fixture's own one ended at its sign-out

    def count(table: type[UserSessionRow] | type[SignInFailureRow]) -> int:
        with app.db.read() as session:
            return len(session.scalars(select(table)).all())

    assert (count(UserSessionRow), count(SignInFailureRow)) == (2, 1)
    now = clock.now
    assert app.db.run(lambda store: store.retention.sign_ins(now)) == (0, 0)
    later = now + timedelta(days=1, hours=1)  # the ended one a day ago; the live one idle
    assert app.db.run(lambda store: store.retention.sign_ins(later)) == (1, 1)
    assert count(UserSessionRow) == 1
    much_later = now + timedelta(days=2)  # past its 12-hour lifetime a day ago
    assert app.db.run(lambda store: store.retention.sign_ins(much_later)) == (1, 0)
