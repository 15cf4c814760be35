"""FastAPI dependencies: the app context, the database session and the caller's identity.

``authorize(permission)`` is the single seam every route and console page goes through: it
reads the credentials (``Authorization: Bearer <access token or API key>``, ``X-API-Key`` or,
from a browser, the console's session cookie — then a change must also carry the session's
CSRF token in ``X-CSRF-Token`` and come from this origin), checks
them (``api.security``), checks the caller's address against the role's allowlist and the
role against the permission matrix (``auth.roles``). No credentials, or ones that do not
hold: 401. A role that may not: 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.api.context import AppContext
from opsconductor.api.security import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Principal,
    authenticate_session,
    authenticate_token,
    gatekeeper,
)
from opsconductor.auth.roles import PERMISSIONS, allowed
from opsconductor.auth.secrets import same
from opsconductor.errors import Forbidden, StoreError, Unauthorized

__all__ = ["PERMISSIONS", "Principal", "authenticated", "authorize", "people_only"]

OPEN_METRICS = Principal("metrics", "viewer", "open")
"""Who reads ``/metrics`` when ``OPSC_METRICS_OPEN`` is set."""


def get_context(request: Request) -> AppContext:
    """The process context stored on the app at start."""
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]


async def get_session(context: Context) -> AsyncIterator[AsyncSession]:
    """One session per request; the request owns the transaction."""
    if context.sessions is None:
        raise StoreError("this process has no database")
    async with context.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def credentials_of(request: Request) -> str | None:
    """The token or key the request carries, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def client_address(request: Request) -> str:
    """The caller's address as the socket saw it."""
    return request.client.host if request.client else ""


def same_origin(request: Request) -> bool:
    """Whether a browser request comes from a page of this server (``Origin``, else
    ``Referer``; a request with neither is not a cross-site one a browser made)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


async def _cookie_principal(request: Request, secret: str) -> Principal:
    web = await authenticate_session(get_context(request), secret)
    request.state.csrf = web.csrf
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not same(sent, web.csrf) or not same_origin(request):
            raise Forbidden("missing or wrong CSRF token; reload the page and try again")
    return web.principal


async def authenticated(request: Request) -> Principal:
    """Any caller with valid credentials (for ``/auth/me`` and ``/auth/logout``)."""
    context = get_context(request)
    token = credentials_of(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if token is None and cookie:
        principal = await _cookie_principal(request, cookie)
    elif token is None:
        raise Unauthorized("authentication required: send a bearer token or an API key")
    else:
        principal = await authenticate_token(context, token)
    gate = await gatekeeper(context)
    if not gate.allowed_from(principal.role, client_address(request)):
        raise Forbidden(f"role {principal.role} may not call from this address")
    request.state.principal = principal  # who the audit log names
    return principal


def authorize(permission: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting callers whose role grants ``permission`` (e.g. ``events:read``).

    ``permission`` must be declared in ``PERMISSIONS``; a typo fails when the route is defined.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"undeclared permission {permission!r}; add it to PERMISSIONS")

    async def dependency(request: Request) -> Principal:
        request.state.permission = permission
        if permission == "metrics:read" and get_context(request).settings.metrics_open:
            return OPEN_METRICS
        principal = await authenticated(request)
        if not allowed(principal.role, permission):
            raise Forbidden(f"role {principal.role} may not {PERMISSIONS[permission]}")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def people_only(caller: Principal) -> None:
    """Refuse an API key where only a person may act (managing users and keys): a leaked key
    must not be able to mint credentials that outlive its own expiry or revocation."""
    if caller.kind == "key":
        raise Forbidden("API keys cannot manage users or API keys; log in as a user")
