"""The application factory: one FastAPI app serving the API and the web console."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from opsconductor import __version__, web
from opsconductor.api import (
    addons,
    agents,
    alerts,
    audit,
    auth,
    devices,
    docs,
    errors,
    events,
    keys,
    rules,
    settings,
    status,
    suppression,
    system,
    two_factor,
    users,
    ws,
)
from opsconductor.api.context import AppContext
from opsconductor.api.middleware import BodyLimit, SecurityHeaders, ServerTiming
from opsconductor.ingest import http as http_ingest


def create_app(context: AppContext, *, full: bool = True) -> FastAPI:
    """The app. ``full=False`` serves only health and metrics (for a lone pipeline stage)."""
    app = FastAPI(
        title="OpsConductor",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.context = context
    errors.install(app)
    docs.install(app)
    app.include_router(system.router)
    if full:
        app.include_router(auth.router, prefix="/api/v1")
        app.include_router(two_factor.router, prefix="/api/v1")
        app.include_router(users.router, prefix="/api/v1")
        app.include_router(keys.router, prefix="/api/v1")
        app.include_router(http_ingest.router, prefix="/api/v1")
        app.include_router(events.router, prefix="/api/v1")
        app.include_router(devices.router, prefix="/api/v1")
        app.include_router(agents.router, prefix="/api/v1")
        app.include_router(settings.router, prefix="/api/v1")
        app.include_router(status.router, prefix="/api/v1")
        app.include_router(rules.router, prefix="/api/v1")
        app.include_router(alerts.router, prefix="/api/v1")
        app.include_router(suppression.router, prefix="/api/v1")
        app.include_router(addons.router, prefix="/api/v1")
        app.include_router(audit.router, prefix="/api/v1")
        ws.install(app, context)
        web.install(app)
    _harden(app, context, audited=full)
    return app


def _harden(app: FastAPI, context: AppContext, *, audited: bool) -> None:
    """Body limit, the audit trail (outside it: refusals are recorded too), CORS (when
    origins are configured) and security headers; the last added is the outermost."""
    settings = context.settings
    app.add_middleware(
        BodyLimit, limit=settings.api_max_body_bytes, exempt=frozenset({"/api/v1/logs"})
    )
    if audited:
        app.add_middleware(audit.AuditMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ServerTiming)
