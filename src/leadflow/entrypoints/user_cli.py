"""``leadflow user``: the people who sign in to the dashboard, and their roles.

Passwords are hashed with argon2 (never stored, printed only when leadflow made them up).
Every change is audited; disabling a user or changing their role ends their sessions at
once. The first user makes leadflow leave open local mode: from then on the dashboard and
the API need a sign-in or an API key.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer

from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.adapters.passwords import Argon2Passwords
from leadflow.domain.access import ROLES
from leadflow.entrypoints.common import fail, stderr
from leadflow.entrypoints.reporting import say
from leadflow.entrypoints.store_cli import DatabaseUrl, read_store, write_store
from leadflow.errors import AccountError
from leadflow.services.accounts import (
    User,
    add_user,
    disable_user,
    new_password,
    reset_password,
    set_role,
)

ACTOR = "cli:user"
T = TypeVar("T")
user_app = typer.Typer(
    help="People who sign in to the dashboard: add, list, disable, change roles, reset.",
    no_args_is_help=True,
)
RoleArg = Annotated[str, typer.Argument(metavar="ROLE", help=f"One of: {', '.join(ROLES)}.")]
EmailArg = Annotated[str, typer.Argument(metavar="EMAIL", help="The user's email address.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (else one is made up and shown once).",
    ),
]


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether leadflow made it up (then it is shown once)."""
    if not from_stdin:
        return new_password(), True
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        fail(stderr(), "no password on standard input")
    return text, False


def _run(database_url: str | None, work: Callable[[SqlUnitOfWork], T]) -> T:
    try:
        return write_store(database_url, work, migrate=True)
    except AccountError as exc:
        fail(stderr(), str(exc))


def _show_once(password: str) -> None:
    say(stderr(), "password (shown once; give it to the user, who should keep it secret):")
    typer.echo(password)


@user_app.command("add")
def user_add(
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", metavar="ROLE", help=f"{', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option(help="How the dashboard shows the user.")] = None,
    password_stdin: PasswordStdin = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user who signs in with EMAIL and a password (or through single sign-on)."""
    password, made_up = _password(password_stdin)
    now = datetime.now(UTC)
    passwords = Argon2Passwords()

    def work(store: SqlUnitOfWork) -> User:
        return add_user(
            store.accounts,
            passwords,
            email,
            role,
            name=name,
            password=password,
            actor=ACTOR,
            at=now,
        )

    user = _run(database_url, work)
    say(stderr(), f"user {user.email} ({user.role}) created as {user.user_id}")
    if made_up:
        _show_once(password)


@user_app.command("list")
def user_list(database_url: DatabaseUrl = None) -> None:
    """Users, their roles and state (never a password)."""
    users = read_store(database_url, lambda view: view.accounts.users())
    for user in users:
        state = "disabled" if not user.active else "active"
        seen = (
            user.last_sign_in_at.isoformat(timespec="minutes") if user.last_sign_in_at else "never"
        )
        how = "sso" if user.sso else "password"
        typer.echo(
            f"{user.email:32}  {user.role:9}  {state:8}  {how:8}  last sign-in {seen}  {user.name}"
        )


@user_app.command("disable")
def user_disable(email: EmailArg, database_url: DatabaseUrl = None) -> None:
    """Disable a user: they cannot sign in, and their open sessions end at once."""
    now = datetime.now(UTC)
    user, ended = _run(
        database_url, lambda store: disable_user(store.accounts, email, actor=ACTOR, at=now)
    )
    typer.echo(f"disabled {user.email}; {ended} session(s) ended")


@user_app.command("set-role")
def user_set_role(email: EmailArg, role: RoleArg, database_url: DatabaseUrl = None) -> None:
    """Change a user's role (their sessions end; the new role applies at the next sign-in)."""
    now = datetime.now(UTC)
    _run(database_url, lambda store: set_role(store.accounts, email, role, actor=ACTOR, at=now))
    typer.echo(f"{email.strip().casefold()} is now {role}")


@user_app.command("reset-password")
def user_reset_password(
    email: EmailArg, password_stdin: PasswordStdin = False, database_url: DatabaseUrl = None
) -> None:
    """Set a new password (made up and shown once, or from standard input); lifts a lock
    after failed sign-ins and ends the user's sessions."""
    password, made_up = _password(password_stdin)
    now = datetime.now(UTC)
    passwords = Argon2Passwords()
    _run(
        database_url,
        lambda store: reset_password(
            store.accounts, passwords, email, password, actor=ACTOR, at=now
        ),
    )
    say(stderr(), f"new password set for {email.strip().casefold()}; their sessions ended")
    if made_up:
        _show_once(password)
