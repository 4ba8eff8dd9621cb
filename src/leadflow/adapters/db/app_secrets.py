"""Secrets a database makes for itself (table ``app_secrets``): the unsubscribe links' key
when no setting gives one, the key of failed sign-in counters."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadflow.adapters.db.tables import AppSecretRow

_SECRETS = cast(Table, AppSecretRow.__table__)


def database_secret(session: Session, name: str, now: datetime) -> bytes:
    """This database's secret ``name``: made (32 random bytes) and stored the first time it
    is asked for; two workers racing to make it both end up with the one stored first."""
    found = session.scalar(select(_SECRETS.c.value).where(_SECRETS.c.name == name))
    if found is None:
        try:
            with session.begin_nested():
                value = secrets.token_hex(32)
                session.execute(insert(_SECRETS).values(name=name, value=value, created_at=now))
        except IntegrityError:
            pass  # made meanwhile by another transaction: read that one
        found = session.scalar(select(_SECRETS.c.value).where(_SECRETS.c.name == name))
    return bytes.fromhex(str(found))
