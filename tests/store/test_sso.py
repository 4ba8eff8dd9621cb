"""Single sign-on end to end: a real OpenID provider process, the real leadflow server and a
browser-like HTTP client, on SQLite and PostgreSQL.

The provider (``oidc-provider-mock``) signs its tokens with the real time, so the leadflow
app runs on the real clock. Its redirect URI is ``LEADFLOW_PUBLIC_URL/login/sso/callback``:
the server's socket is bound first and the app is then wired by ``bootstrap`` with that
address (see :func:`tests.store.oidc_provider.serve_with_public_url`).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from leadflow.adapters.db.accounts import SqlAccounts
from leadflow.adapters.db.audit_log import audit_chain
from leadflow.adapters.db.tables_people import SignInFlowRow, UserSessionRow
from leadflow.entrypoints.bootstrap import App, bootstrap
from leadflow.entrypoints.cli import app as cli
from leadflow.entrypoints.settings import Settings
from leadflow.services.accounts import User
from leadflow.services.store.ports import AuditEntry
from tests.store.oidc_provider import Provider, oidc_provider, serve_with_public_url

CLIENT_ID = "leadflow-test"
CLIENT_SECRET = "sso-test-secret"
ROLE_MAP = {"leadflow-intake": "intake", "leadflow-marketing": "marketing"}
SESSION_COOKIE = "leadflow_session"
SSO_COOKIE = "leadflow_sso"
# A person given to the provider on its command line (``--user-claims``).
INES: dict[str, Any] = {
    "sub": "ines-0001",
    "email": "ines@clinic.example",
    "name": "Ines Intake",
    "groups": ["leadflow-intake", "staff"],
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with oidc_provider(tmp_path_factory.mktemp("oidc"), INES) as running:
        yield running


@dataclass
class Site:
    """The leadflow server under test and its database."""

    app: App
    url: str
    database_url: str

    def users(self) -> list[User]:
        with self.app.db.read() as session:
            return SqlAccounts(session, _no_audit).users()

    def audit(self) -> list[AuditEntry]:
        with self.app.db.read() as session:
            return [chained.entry for chained in audit_chain(session)]

    def count(self, table: Any) -> int:
        with self.app.db.read() as session:
            found: int = session.scalar(select(func.count()).select_from(table)) or 0
            return found


def _no_audit(_: object) -> None:  # pragma: no cover - reading writes no audit record
    raise AssertionError("reading accounts writes no audit record")


@pytest.fixture
def site(database_url: str, provider: Provider) -> Iterator[Site]:
    def make(public_url: str) -> App:
        settings = Settings(
            database_url=database_url,
            public_url=public_url,
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_role_claim="groups",
            oidc_role_map=ROLE_MAP,
            oidc_default_role=None,
        )
        return bootstrap(settings, migrate=False)  # the real clock

    with serve_with_public_url(make) as (app, url):
        yield Site(app, url, database_url)


@pytest.fixture
def new_browser() -> Iterator[Callable[[], httpx.Client]]:
    """Browsers: each keeps its own cookies and follows no redirect by itself."""
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        browser = httpx.Client(follow_redirects=False, timeout=15.0)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def a_person(
    provider: Provider, name: str, *groups: str, verified: bool | None = True
) -> dict[str, Any]:
    """A new person at the provider (a subject of their own); their claims."""
    tag = uuid.uuid4().hex[:8]
    claims: dict[str, Any] = {
        "email": f"{name.split(maxsplit=1)[0].lower()}.{tag}@clinic.example",
        "name": name,
        "groups": list(groups),
    }
    if verified is not None:
        claims["email_verified"] = verified
    sub = f"sub-{tag}"
    provider.set_user(sub, claims)
    return {"sub": sub, **claims}


def _cookie(response: httpx.Response, name: str) -> Any:
    """The ``Set-Cookie`` of ``name`` in ``response`` (a morsel), or None."""
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name]
    return None


def start(browser: httpx.Client, site: Site, next_url: str = "/leads") -> httpx.Response:
    """``GET /login/sso``: the browser is sent to the provider."""
    answer = browser.get(f"{site.url}/login/sso", params={"next": next_url})
    assert answer.status_code == 303, answer.text
    return answer


def authorize(browser: httpx.Client, provider: Provider, location: str, sub: str) -> str:
    """The person signs in at the provider; returns where it sends the browser back to."""
    assert location.startswith(f"{provider.issuer}/oauth2/authorize?"), location
    form = browser.get(location)
    assert form.status_code == 200, form.text
    answer = browser.post(location, data={"sub": sub})
    assert answer.status_code in {302, 303}, answer.text
    return answer.headers["location"]


def sign_in(
    browser: httpx.Client, site: Site, provider: Provider, sub: str, next_url: str = "/leads"
) -> httpx.Response:
    """The whole round trip; returns leadflow's answer to the callback."""
    location = start(browser, site, next_url).headers["location"]
    back = authorize(browser, provider, location, sub)
    assert back.startswith(f"{site.url}/login/sso/callback?"), back
    return browser.get(back)


def _query(url: str) -> dict[str, str]:
    found = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert all(len(v) == 1 for v in found.values()), found
    return {k: v[0] for k, v in found.items()}


def _signed_in(answer: httpx.Response, next_url: str = "/leads") -> str:
    """Assert the callback signed the person in; the session cookie's value."""
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == next_url
    morsel = _cookie(answer, SESSION_COOKIE)
    assert morsel is not None, answer.headers.get_list("set-cookie")
    assert morsel.value
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    assert not morsel["secure"]  # plain HTTP on loopback
    value: str = morsel.value
    return value


def _refused(answer: httpx.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert words in answer.text
    assert _cookie(answer, SESSION_COOKIE) is None


def _actions(site: Site) -> list[str]:
    return [e.action for e in site.audit()]


def test_a_first_sso_sign_in_creates_the_account_with_the_role_its_group_maps_to(
    site: Site,
    provider: Provider,
    new_browser: Callable[[], httpx.Client],
    runner: CliRunner,
) -> None:
    browser = new_browser()
    sent = start(browser, site, "/leads")
    location = sent.headers["location"]
    asked = _query(location)
    assert asked["response_type"] == "code"
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{site.url}/login/sso/callback"
    assert set(asked["scope"].split()) == {"openid", "email", "profile"}
    assert asked["code_challenge_method"] == "S256"
    assert asked["state"]
    assert asked["nonce"]
    assert asked["state"] != asked["nonce"]
    # The state rides in an HttpOnly cookie scoped to the SSO routes ...
    kept = _cookie(sent, SSO_COOKIE)
    assert kept is not None
    assert kept.value == asked["state"]
    assert kept["httponly"] is True
    assert kept["path"] == "/login/sso"
    # ... and the server keeps the PKCE verifier (whose S256 is the challenge) and the nonce.
    flow_id = hashlib.sha256(asked["state"].encode()).hexdigest()
    with site.app.db.read() as session:
        flow = session.get(SignInFlowRow, flow_id)
        assert flow is not None
        verifier, nonce, next_url = flow.code_verifier, flow.nonce, flow.next_url
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    assert asked["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert verifier not in location
    assert nonce == asked["nonce"]
    assert next_url == "/leads"
    assert site.users() == []

    back = authorize(browser, provider, location, INES["sub"])
    returned = _query(back)
    assert back.startswith(f"{site.url}/login/sso/callback?")
    assert returned["state"] == asked["state"]
    assert returned["code"]

    answer = browser.get(back)
    _signed_in(answer)
    assert _cookie(answer, SSO_COOKIE) is not None  # deleted ...
    assert SSO_COOKIE not in browser.cookies  # ... from the browser
    assert site.count(SignInFlowRow) == 0  # the flow is used up

    (user,) = site.users()
    assert user.email == INES["email"]
    assert user.name == INES["name"]
    assert user.role == "intake"
    assert user.sso is True
    assert user.has_password is False
    assert user.active
    assert user.last_sign_in_at is not None
    listed = runner.invoke(cli, ["user", "list", "--database-url", site.database_url])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()
    assert line.split()[:4] == [INES["email"], "intake", "active", "sso"]

    audit = site.audit()
    created = [e for e in audit if e.action == "user.created"]
    assert [(e.actor, e.entity_id, e.after) for e in created] == [
        ("sso", user.user_id, {"role": "intake"})
    ]
    signed = [e for e in audit if e.action == "user.signed_in"]
    assert [(e.entity_id, e.reason) for e in signed] == [(user.user_id, "sso")]

    page = browser.get(f"{site.url}/leads")
    assert page.status_code == 200, page.text
    assert '<span id="who-name">Ines Intake</span>' in page.text
    assert '<span class="small" id="who-role">intake</span>' in page.text

    # Another browser (no cookie) is not signed in: leadflow left open local mode.
    stranger = new_browser().get(f"{site.url}/leads")
    assert stranger.status_code == 303
    assert stranger.headers["location"].startswith("/login")


def test_a_person_in_no_mapped_group_is_refused_and_no_account_is_made(
    site: Site, provider: Provider, new_browser: Callable[[], httpx.Client]
) -> None:
    person = a_person(provider, "Otto Outsider", "staff", "leadflow-unknown")
    browser = new_browser()
    answer = sign_in(browser, site, provider, person["sub"])
    _refused(answer, 403, "in no group that leadflow knows")
    assert site.users() == []
    assert site.count(UserSessionRow) == 0
    refusals = [e for e in site.audit() if e.action == "user.sign_in_failed"]
    assert len(refusals) == 1
    assert refusals[0].actor == "sso"
    assert "no group that leadflow knows" in (refusals[0].reason or "")
    assert "user.created" not in _actions(site)
    assert SESSION_COOKIE not in browser.cookies


def test_a_changed_group_changes_the_role_at_the_next_sign_in(
    site: Site, provider: Provider, new_browser: Callable[[], httpx.Client]
) -> None:
    person = a_person(provider, "Carla Changer", "leadflow-intake")
    first = new_browser()
    _signed_in(sign_in(first, site, provider, person["sub"]))
    (user,) = site.users()
    assert user.role == "intake"

    provider.set_user(person["sub"], {**person, "groups": ["leadflow-marketing"]})
    second = new_browser()
    _signed_in(sign_in(second, site, provider, person["sub"]))

    (again,) = site.users()  # the same account, not a second one
    assert again.user_id == user.user_id
    assert again.role == "marketing"
    changes = [e for e in site.audit() if e.action == "user.role_changed"]
    assert [(e.actor, e.entity_id, e.before, e.after) for e in changes] == [
        ("sso", user.user_id, {"role": "intake"}, {"role": "marketing"})
    ]
    assert "groups" in (changes[0].reason or "")
    page = second.get(f"{site.url}/leads")
    assert page.status_code == 200, page.text
    assert '<span class="small" id="who-role">marketing</span>' in page.text

    # Out of every mapped group: refused, and the role is left as it was.
    provider.set_user(person["sub"], {**person, "groups": []})
    _refused(sign_in(new_browser(), site, provider, person["sub"]), 403, "no group")
    (still,) = site.users()
    assert still.role == "marketing"


def test_a_disabled_users_session_ends_at_once_and_sso_refuses_them(
    site: Site,
    provider: Provider,
    new_browser: Callable[[], httpx.Client],
    runner: CliRunner,
) -> None:
    person = a_person(provider, "Dora Disabled", "leadflow-intake")
    browser = new_browser()
    _signed_in(sign_in(browser, site, provider, person["sub"]))
    assert browser.get(f"{site.url}/leads").status_code == 200

    result = runner.invoke(
        cli, ["user", "disable", person["email"], "--database-url", site.database_url]
    )
    assert result.exit_code == 0, result.output
    assert f"disabled {person['email']}; 1 session(s) ended" in result.output

    assert SESSION_COOKIE in browser.cookies  # the browser still sends the old cookie
    after = browser.get(f"{site.url}/leads")
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=%2Fleads"

    _refused(sign_in(browser, site, provider, person["sub"]), 403, "disabled")
    (user,) = site.users()
    assert not user.active
    assert _actions(site).count("user.signed_in") == 1
    refusals = [e for e in site.audit() if e.action == "user.sign_in_failed"]
    assert len(refusals) == 1
    assert "disabled" in (refusals[0].reason or "")


def test_a_callback_with_another_state_or_replayed_is_refused_without_a_session(
    site: Site, provider: Provider, new_browser: Callable[[], httpx.Client]
) -> None:
    person = a_person(provider, "Rita Replay", "leadflow-intake")
    browser = new_browser()
    location = start(browser, site).headers["location"]
    back = authorize(browser, provider, location, person["sub"])
    returned = _query(back)
    callback = f"{site.url}/login/sso/callback"

    # A state this browser did not start (e.g. a link from an attacker's own sign-in).
    forged = browser.get(callback, params={"code": returned["code"], "state": "x" * 32})
    _refused(forged, 400, "did not start in this browser")
    # No state cookie at all (another browser following the same link).
    elsewhere = new_browser().get(back)
    _refused(elsewhere, 400, "did not start in this browser")
    assert site.count(UserSessionRow) == 0
    assert site.users() == []

    # The refusals used nothing up: the browser's own callback still signs in, once.
    _signed_in(browser.get(back))
    assert site.count(UserSessionRow) == 1

    # Replayed with the original state cookie: the flow is gone.
    replayer = new_browser()
    replayer.cookies.set(SSO_COOKIE, returned["state"], domain="127.0.0.1", path="/login/sso")
    replayed = replayer.get(back)
    _refused(replayed, 400, "has expired")
    assert site.count(UserSessionRow) == 1
    assert _actions(site).count("user.signed_in") == 1


def test_a_first_sso_sign_in_links_an_account_made_with_the_same_email(
    site: Site,
    provider: Provider,
    new_browser: Callable[[], httpx.Client],
    runner: CliRunner,
) -> None:
    person = a_person(provider, "Mara Marketing", "leadflow-marketing")
    made = runner.invoke(
        cli,
        [
            "user",
            "add",
            person["email"],
            "--role",
            "marketing",
            "--name",
            "Mara M.",
            "--database-url",
            site.database_url,
        ],
    )
    assert made.exit_code == 0, made.output
    (before,) = site.users()
    assert before.sso is False
    assert before.has_password is True

    _signed_in(sign_in(new_browser(), site, provider, person["sub"], "/"), "/")

    (after,) = site.users()
    assert after.user_id == before.user_id
    assert after.sso is True
    assert after.has_password is True  # the password still works too
    assert after.role == "marketing"
    links = [e for e in site.audit() if e.action == "user.sso_linked"]
    assert [(e.actor, e.entity_id) for e in links] == [("sso", before.user_id)]
    assert _actions(site).count("user.created") == 1  # by the CLI only
    assert "user.role_changed" not in _actions(site)

    # A later sign-in finds the account by its identity, without linking again.
    _signed_in(sign_in(new_browser(), site, provider, person["sub"]))
    assert _actions(site).count("user.sso_linked") == 1
    assert len(site.users()) == 1


def test_a_refused_sso_sign_in_leaves_an_account_with_the_same_email_unlinked(
    site: Site,
    provider: Provider,
    new_browser: Callable[[], httpx.Client],
    runner: CliRunner,
) -> None:
    person = a_person(provider, "Nora Nogroup", "staff")
    made = runner.invoke(
        cli,
        [
            "user",
            "add",
            person["email"],
            "--role",
            "marketing",
            "--database-url",
            site.database_url,
        ],
    )
    assert made.exit_code == 0, made.output
    _refused(sign_in(new_browser(), site, provider, person["sub"]), 403, "no group")
    assert "user.sign_in_failed" in _actions(site)
    (user,) = site.users()
    assert user.sso is False
    assert "user.sso_linked" not in _actions(site)


def test_an_unverified_email_never_takes_over_an_account_made_with_it(
    site: Site,
    provider: Provider,
    new_browser: Callable[[], httpx.Client],
    runner: CliRunner,
) -> None:
    person = a_person(provider, "Uma Unverified", "leadflow-marketing", verified=None)
    made = runner.invoke(
        cli,
        [
            "user",
            "add",
            person["email"],
            "--role",
            "marketing",
            "--database-url",
            site.database_url,
        ],
    )
    assert made.exit_code == 0, made.output
    _refused(sign_in(new_browser(), site, provider, person["sub"]), 403, "exists already")
    (user,) = site.users()
    assert user.sso is False
    assert "user.sso_linked" not in _actions(site)
