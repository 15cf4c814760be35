"""The web console: server-rendered pages on the API's port, no build step, no CDN.

Pages are Jinja2 templates rendered from the store; a small hand-written script
(``static/app.js``) makes changes through the JSON API with the session's CSRF token and keeps
pages live over the WebSocket feed. Charts are SVG drawn on the server (``web.charts``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from opsconductor.web import sessions
from opsconductor.web.errors import error_page
from opsconductor.web.pages import ROUTERS
from opsconductor.web.render import STATIC


def install(app: FastAPI) -> None:
    """Serve the console on ``app``: static files, login, the pages, error pages."""
    app.state.error_page = error_page
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(sessions.router)
    for router in ROUTERS:
        app.include_router(router)
