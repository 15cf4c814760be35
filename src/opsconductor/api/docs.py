"""The interactive API documentation, served with its own assets (no CDN: it works on an
air-gapped network). The Swagger UI bundle comes from the ``fastapi-offline`` package."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_PATH = "/api/docs"


def install(app: FastAPI) -> None:
    """Serve ``/api/docs`` and its assets under ``/api/docs/assets``."""
    app.mount(f"{DOCS_PATH}/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title="OpsConductor API",
            swagger_js_url=f"{DOCS_PATH}/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_PATH}/assets/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_PATH}/assets/favicon.png",
        )
