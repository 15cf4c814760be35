"""The application factory: one FastAPI app serving the API (and, later, the UI)."""

from __future__ import annotations

from fastapi import FastAPI

from opsconductor import __version__
from opsconductor.api import (
    alerts,
    audit,
    devices,
    errors,
    events,
    rules,
    suppression,
    system,
)
from opsconductor.api.context import AppContext
from opsconductor.ingest import http as http_ingest


def create_app(context: AppContext, *, full: bool = True) -> FastAPI:
    """The app. ``full=False`` serves only health and metrics (for a lone pipeline stage)."""
    app = FastAPI(
        title="OpsConductor",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.context = context
    errors.install(app)
    app.include_router(system.router)
    if full:
        app.include_router(http_ingest.router, prefix="/api/v1")
        app.include_router(events.router, prefix="/api/v1")
        app.include_router(devices.router, prefix="/api/v1")
        app.include_router(rules.router, prefix="/api/v1")
        app.include_router(alerts.router, prefix="/api/v1")
        app.include_router(suppression.router, prefix="/api/v1")
        app.include_router(audit.router, prefix="/api/v1")
        app.add_middleware(audit.AuditMiddleware)
    return app
