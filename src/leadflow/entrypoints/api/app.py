"""``create_app``: the HTTP API over a wired :class:`~leadflow.entrypoints.bootstrap.App`.

Nothing is built at import time; tests and ``leadflow serve`` pass their own wiring.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from leadflow import __version__
from leadflow.entrypoints.api import (
    routes_events,
    routes_leads,
    routes_meta,
    routes_reports,
    routes_routing,
    routes_sms,
    routes_tasks,
    routes_webhooks,
)
from leadflow.entrypoints.api.errors import install_error_handlers
from leadflow.entrypoints.api.guards import Guards
from leadflow.entrypoints.api.schemas import GUARDED
from leadflow.entrypoints.bootstrap import App
from leadflow.entrypoints.web import auth_pages, pages, task_pages, unsubscribe
from leadflow.entrypoints.web.render import HERE, install_page_handlers

STATIC = HERE / "static"

DESCRIPTION = """Explainable lead qualification for healthcare marketing and sales.

Post leads and their engagement; every stored event re-qualifies its lead in the same
transaction, and the decision (stage, status, scores, reasons, blockers, next action) comes
back in the response. Every error has the same shape: `{"error": {"code", "message",
"problems": [{"field", "row", "message"}]}}`.

Integrations send an API key (`Authorization: Bearer lf_…`, made with `leadflow apikey
create`); what a key may do and see follows its role (see `docs/security.md`)."""


def create_app(app: App) -> FastAPI:
    """The FastAPI application serving ``app``'s store."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(lambda: app.scanner)  # the vocabulary, before the first lead
        yield

    api = FastAPI(title="leadflow", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    api.state.leadflow = app
    install_error_handlers(api)
    install_page_handlers(api)
    api.add_middleware(Guards, limiter=app.limiter, max_body=app.settings.max_body_bytes)
    for module in (routes_leads, routes_events, routes_webhooks, routes_reports):
        api.include_router(module.router, responses=GUARDED)
    api.include_router(routes_meta.router)
    api.include_router(routes_routing.router, responses=GUARDED)
    api.include_router(routes_tasks.router, responses=GUARDED)
    api.include_router(routes_sms.router, responses=GUARDED)
    api.include_router(routes_sms.review_router, responses=GUARDED)
    api.include_router(unsubscribe.router)
    api.include_router(auth_pages.router)
    api.include_router(pages.router)
    api.include_router(task_pages.router)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    return api
