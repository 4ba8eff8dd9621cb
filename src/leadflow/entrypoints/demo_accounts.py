"""The demo's accounts: one person per role, so each role's view can be tried at once.

The intake, sales and marketing accounts are members of the demo playbooks' teams (by
email), so "My queue" shows their own leads. Passwords are made up when the accounts are
created and kept, readable by this machine's user only, in a file beside the demo database
(``out/demo-accounts.txt`` for ``make demo``), so a later ``make demo`` can print them
again. The demo listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from leadflow.adapters.db.engine import sqlite_file
from leadflow.adapters.db.unit_of_work import SqlUnitOfWork
from leadflow.entrypoints.bootstrap import App
from leadflow.services.accounts import add_user, new_password, reset_password

ACTOR = "cli:demo"
# role, email, name
ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin@northwind.example", "Avery Admin"),
    ("intake", "priya@northwind.example", "Priya Natarajan"),
    ("sales", "alex@northwind.example", "Alex Rivera"),
    ("marketing", "erin@northwind.example", "Erin Walsh"),
    ("analyst", "analyst@northwind.example", "Noor Analyst"),
)


def accounts_file(database_url: str) -> Path:
    """Where the demo's passwords are kept: beside a SQLite file, else in this folder."""
    db = sqlite_file(database_url)
    if db is not None:
        return db.with_name(f"{db.stem}-accounts.txt")
    return Path("leadflow-demo-accounts.txt")


def _all_there(app: App, kept: list[tuple[str, str, str]]) -> bool:
    wanted = {email for _, email, _ in ACCOUNTS}
    if {email for _, email, _ in kept} != wanted:
        return False
    with app.db.view() as view:
        found = {u.email for u in view.accounts.users()}
    return wanted <= found


def ensure_demo_accounts(app: App, path: Path) -> list[tuple[str, str, str]]:
    """(role, email, password) of each demo account: read from ``path`` when they exist,
    else created — or given new passwords when ``path`` was lost — and written to ``path``."""
    if path.is_file():
        kept = read_accounts(path)
        if _all_there(app, kept):
            return kept
    now = app.clock()
    made = [(role, email, new_password()) for role, email, _ in ACCOUNTS]
    names = {email: name for _, email, name in ACCOUNTS}

    def work(store: SqlUnitOfWork) -> None:
        accounts = store.accounts
        for role, email, password in made:
            if accounts.user_by_email(email) is None:
                add_user(
                    accounts,
                    app.passwords,
                    email,
                    role,
                    name=names[email],
                    password=password,
                    actor=ACTOR,
                    at=now,
                )
            else:
                reset_password(accounts, app.passwords, email, password, actor=ACTOR, at=now)

    app.db.run(work)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that was there keeps no wider mode
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# leadflow demo accounts: role email password\n")
        handle.writelines(f"{role} {email} {password}\n" for role, email, password in made)
    return made


def read_accounts(path: Path) -> list[tuple[str, str, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            found.append((parts[0], parts[1], parts[2]))
    return found


def sign_in_lines(url: str, accounts: list[tuple[str, str, str]], path: Path) -> list[str]:
    """How to sign in, one line per account."""
    lines = [f"sign in at {url}/login as any of these (also kept in {path}):"]
    lines += [f"  {role:9}  {email:28}  {password}" for role, email, password in accounts]
    return lines
