"""One error body for every failure: ``{"error": <code>, "detail": <text or list>}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsconductor.errors import BackpressureError, BusError, InputError, StoreError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    423: "locked",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(
    status: int, detail: object, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    """The one error body shape, with any ``extra`` fields a route adds."""
    body = {"error": _CODES.get(status, "error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Map every error the edge can meet, in one place."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, exc.detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return error_response(422, detail)

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return error_response(exc.status_code, str(exc), headers, **getattr(exc, "extra", {}))

    @app.exception_handler(BackpressureError)
    async def overloaded(_: Request, exc: BackpressureError) -> JSONResponse:
        return error_response(503, str(exc) or "overloaded, retry later", {"Retry-After": "1"})

    @app.exception_handler(BusError)
    async def bus_error(_: Request, exc: BusError) -> JSONResponse:
        log.warning("bus unavailable: %s", exc)
        return error_response(503, "message bus unavailable, retry later", {"Retry-After": "5"})

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return error_response(503, "database unavailable, retry later", {"Retry-After": "5"})
