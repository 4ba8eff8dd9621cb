"""Shared request dependencies: the wired application and who is acting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from leadflow.entrypoints.bootstrap import App


def get_app(request: Request) -> App:
    app: App = request.app.state.leadflow
    return app


def get_actor(
    x_actor: Annotated[
        str | None,
        Header(
            max_length=200,
            description="who is acting (a user name), recorded in history and audit",
        ),
    ] = None,
) -> str:
    return f"user:{x_actor}" if x_actor else "api"


AppDep = Annotated[App, Depends(get_app)]
ActorDep = Annotated[str, Depends(get_actor)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="makes a retried POST safe: the first response is stored and replayed",
    ),
]
