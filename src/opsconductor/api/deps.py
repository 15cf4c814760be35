"""FastAPI dependencies: the app context, the database session and the caller's identity.

``authorize(permission)`` is the single seam every route goes through. Until users, roles and
API keys exist it admits every caller as the built-in ``local`` principal, which is why the API
listens on loopback by default; the permission each route needs is already declared, so the
role checks slot in here without touching a router.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.api.context import AppContext
from opsconductor.auth.roles import PERMISSIONS
from opsconductor.errors import StoreError


@dataclass(frozen=True)
class Principal:
    """Who is calling, and with which role."""

    name: str
    role: str


LOCAL = Principal("local", "admin")




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


def authorize(permission: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting callers allowed ``permission`` (e.g. ``events:read``).

    ``permission`` must be declared in ``PERMISSIONS``; a typo fails when the route is defined.
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"undeclared permission {permission!r}; add it to PERMISSIONS")

    async def dependency(request: Request) -> Principal:
        request.state.permission = permission
        request.state.principal = LOCAL  # who the audit log names
        return LOCAL

    return dependency
