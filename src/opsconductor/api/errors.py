"""One error body for every failure: ``{"error": <code>, "detail": <text or list>}``.

The OpenAPI document lists, for every operation, the error answers this mapping can give it
(``error_statuses``): 401/403 where a caller must be authenticated, 400 where the route
reads parameters or a caller, 404 where the path names a record, 422 where parameters or a
body are validated, 409 and 413 for writes, 503 where the database or the bus is used. A
route declares the rest itself (e.g. 423/429 of a login); an error answer it declares
without a body of its own is documented with the ``ErrorBody`` shape, like all the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from opsconductor.api.deps import authenticated, get_session
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

_MEANINGS = {
    400: "A parameter, body or cursor the route cannot use.",
    401: "No credentials, or credentials that do not hold.",
    403: "The caller's role may not do this (or not from this address).",
    404: "No such record.",
    409: "The change conflicts with what is stored.",
    413: "The request body is over the size limit.",
    422: "Parameters or a body that do not validate.",
    503: "The database or the message bus is unavailable; retry later.",
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NUL_SIGNS = ("invalid byte sequence", "unsupported Unicode escape sequence")
"""What PostgreSQL says of a NUL character in text, or in JSON (``\u0000``)."""


class ErrorBody(BaseModel):
    """The body of every error answer; some errors add fields (e.g. ``retry_after``)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="A short code: bad_request, unauthorized, not_found, …")
    detail: str | list[Any] | dict[str, Any] = Field(
        description="What went wrong; for validation_failed, one entry per field at fault."
    )


def error_response(
    status: int, detail: object, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    """The one error body shape, with any ``extra`` fields a route adds."""
    body = {"error": _CODES.get(status, "error"), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


ErrorPage = Callable[[Request, int, object], Response | None]
"""Renders an error for a person (a console page) instead of the JSON body, or declines."""


def answer(
    request: Request, status: int, detail: object, headers: dict[str, str] | None = None,
    **extra: object,
) -> Response:  # fmt: skip
    """The error answer for ``request``: the console's error page when it renders one (a
    browser asking for a page), else the JSON body."""
    render: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if render is not None:
        shown = render(request, status, detail)
        if shown is not None:
            return shown
    return error_response(status, detail, headers, **extra)


def install(app: FastAPI) -> None:
    """Map every error the edge can meet, in one place, and document the answers."""
    document_errors(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, exc.detail, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return answer(request, 422, detail)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return answer(request, exc.status_code, str(exc), headers, **getattr(exc, "extra", {}))

    @app.exception_handler(BackpressureError)
    async def overloaded(request: Request, exc: BackpressureError) -> Response:
        return answer(request, 503, str(exc) or "overloaded, retry later", {"Retry-After": "1"})

    @app.exception_handler(BusError)
    async def bus_error(request: Request, exc: BusError) -> Response:
        log.warning("bus unavailable: %s", exc)
        return answer(request, 503, "message bus unavailable, retry later", {"Retry-After": "5"})

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> Response:
        log.info("refused a change that conflicts with what is stored: %s", exc.orig)
        return answer(request, 409, "the change conflicts with what is stored; read it again")

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if any(sign in str(exc.orig) for sign in _NUL_SIGNS):  # PostgreSQL cannot hold NUL
            return answer(request, 400, "a value the database cannot store (a NUL character)")
        log.warning("database error: %s", exc.orig)
        return answer(request, 503, "database unavailable, retry later", {"Retry-After": "5"})

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        log.warning("store unavailable: %s", exc)
        return answer(request, 503, "database unavailable, retry later", {"Retry-After": "5"})


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for dependency in dependant.dependencies:
        yield from _tree(dependency)


def error_statuses(route: APIRoute, method: str) -> set[int]:
    """The error statuses the edge's mapping can give ``method`` of ``route`` (see above)."""
    tree = list(_tree(route.dependant))
    calls = {node.call for node in tree}
    guarded = authenticated in calls or any(hasattr(call, "permission") for call in calls)
    in_path = any(node.path_params for node in tree)
    validated = in_path or any(
        node.query_params or node.header_params or node.body_params for node in tree
    )
    statuses: set[int] = set()
    if guarded:
        statuses |= {400, 401, 403, 503}
    if validated:
        statuses |= {400, 422}
    if in_path:
        statuses.add(404)
    if method in _WRITES:
        statuses |= {409, 413}
    if get_session in calls:
        statuses.add(503)
    return statuses


def _document(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][str(context.path_format)][method.lower()]
            answers = operation.setdefault("responses", {})
            for status in error_statuses(route, method):
                answers.setdefault(str(status), {"description": _MEANINGS[status]})
            for status, answer in answers.items():
                # FastAPI's own 422 shape is replaced: the handler above answers ErrorBody.
                if status[0] in "45" and ("content" not in answer or status == "422"):
                    answer["content"] = content


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list each operation's error answers with the ``ErrorBody``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document(build(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
