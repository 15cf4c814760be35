"""Who is calling: the bearer token or API key of a request, checked against the store.

An access token is a JWT signed with the deployment's key; the user it names is looked up
(cached for a few seconds), so disabling a user or changing their role takes effect within
``USER_CACHE_SECONDS`` even while their token lives. An API key is looked up by its prefix
and compared by digest on every request, so revoking it takes effect at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from opsconductor.api.context import AppContext
from opsconductor.auth.keys import check_key
from opsconductor.auth.login import LoginPolicy, LoginService, SourceGuard
from opsconductor.auth.passwords import HashingPool
from opsconductor.auth.secrets import KEY_PREFIX, SESSION_PREFIX, digest
from opsconductor.auth.sessions import SessionLimits, find_session
from opsconductor.auth.tokens import TokenError, TokenIssuer, signing_key
from opsconductor.config import Settings
from opsconductor.errors import StoreError, Unauthorized
from opsconductor.store.tables import users

SESSION_COOKIE = "opsc_session"
"""The console's session cookie (HttpOnly, SameSite=Lax)."""
CSRF_HEADER = "x-csrf-token"
"""The header (or form field ``csrf``) a cookie-authenticated change must carry."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_CACHE_SECONDS = 5.0
_USER_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user or an API key, with the role that decides what they may do."""

    name: str
    role: str
    kind: str = "user"
    id: str = ""


@dataclass
class Gatekeeper:
    """The process's authentication state: token issuer, login guard, user cache."""

    issuer: TokenIssuer
    refresh_lifetime: float
    login: LoginService
    networks: dict[str, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]
    session_limits: SessionLimits = field(default_factory=lambda: SessionLimits(43200.0, 7200.0))
    #: taken around changes to users (the last enabled admin must stay)
    user_changes: asyncio.Lock = field(default_factory=asyncio.Lock)
    _users: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _sessions: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def allowed_from(self, role: str, address: str) -> bool:
        """Whether callers of ``role`` may come from ``address`` (the IP allowlist)."""
        networks = self.networks.get(role)
        if not networks:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    def forget(self, user_id: str) -> None:
        """Drop a user from the cache (after a change made in this process)."""
        self._users.pop(user_id, None)
        stale = [key for key, (_, row) in self._sessions.items() if row and row.user_id == user_id]
        for key in stale:
            self._sessions.pop(key, None)

    def forget_session(self, secret: str) -> None:
        """Drop a web session from the cache (after logging it out)."""
        self._sessions.pop(digest(secret), None)


def policy_of(settings: Settings) -> LoginPolicy:
    """The login limits the settings ask for."""
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
        source_max_failures=settings.login_source_max_failures,
        source_window_seconds=settings.login_source_window_seconds,
    )


async def gatekeeper(context: AppContext) -> Gatekeeper:
    """The context's gatekeeper, made on first use (it reads the signing key once)."""
    gate: Gatekeeper | None = getattr(context, "gate", None)
    if gate is not None:
        return gate
    if context.sessions is None:
        raise StoreError("this process has no database")
    async with context.sessions() as session:
        key = await signing_key(session)
        await session.commit()
    if context.gate is not None:  # another request made it while this one waited
        made: Gatekeeper = context.gate
        return made
    settings = context.settings
    policy = policy_of(settings)
    workers = max(1, os.cpu_count() or 1)
    gate = Gatekeeper(
        issuer=TokenIssuer(key, settings.access_token_minutes * 60),
        refresh_lifetime=settings.refresh_token_days * 86400,
        login=LoginService(policy, SourceGuard(policy), HashingPool(workers, 16 * workers)),
        session_limits=SessionLimits(
            settings.session_hours * 3600, settings.session_idle_minutes * 60
        ),
        networks={
            role: [ipaddress.ip_network(net, strict=False) for net in nets]
            for role, nets in settings.ip_allowlist.items()
        },
    )
    context.gate = gate
    return gate


@dataclass(frozen=True, slots=True)
class WebSession:
    """A console session's caller and its CSRF token."""

    principal: Principal
    csrf: str


def looks_like_session(token: str) -> bool:
    """Whether a credential is a web session's secret."""
    return token.startswith(SESSION_PREFIX)


async def authenticate_session(context: AppContext, secret: str) -> WebSession:
    """The caller a console session's cookie stands for; ``Unauthorized`` if none.

    Looked up in the store (cached ``USER_CACHE_SECONDS``): a logged-out, expired or idle
    session, or a disabled user, is refused within that time.
    """
    gate = await gatekeeper(context)
    key = digest(secret)
    now = time.monotonic()
    cached = gate._sessions.get(key)
    if cached is not None and cached[0] > now:
        row = cached[1]
    else:
        assert context.sessions is not None
        async with context.sessions() as session:
            row = await find_session(session, secret, time.time(), gate.session_limits)
            await session.commit()
        if len(gate._sessions) >= _USER_CACHE_SIZE:
            gate._sessions.clear()
        gate._sessions[key] = (now + USER_CACHE_SECONDS, row)
    if row is None or row.disabled:
        raise Unauthorized("session expired or logged out; log in again")
    return WebSession(Principal(row.username, row.role, "user", row.user_id), row.csrf)


def looks_like_key(token: str) -> bool:
    """Whether a credential is an API key rather than an access token."""
    return token.startswith(KEY_PREFIX)


async def authenticate_token(context: AppContext, token: str) -> Principal:
    """The principal an access token or API key stands for; ``Unauthorized`` if none."""
    gate = await gatekeeper(context)
    if looks_like_key(token):
        return await _key_principal(context, token)
    if looks_like_session(token):
        return (await authenticate_session(context, token)).principal
    try:
        claims = gate.issuer.check(token)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc
    user = await _current_user(context, gate, claims.user_id)
    if user is None or user.disabled:
        raise Unauthorized("user disabled or removed")
    return Principal(user.username, user.role, "user", user.id)


async def _key_principal(context: AppContext, token: str) -> Principal:
    assert context.sessions is not None
    async with context.sessions() as session:
        row = await check_key(session, token, time.time())
        await session.commit()
    if row is None:
        raise Unauthorized("invalid, expired or revoked API key")
    return Principal(f"key:{row.name}", row.role, "key", row.id)


async def _current_user(context: AppContext, gate: Gatekeeper, user_id: str) -> Any | None:
    now = time.monotonic()
    cached = gate._users.get(user_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    assert context.sessions is not None
    async with context.sessions() as session:
        stmt = sa.select(users.c.id, users.c.username, users.c.role, users.c.disabled)
        row = (await session.execute(stmt.where(users.c.id == user_id))).first()
    if len(gate._users) >= _USER_CACHE_SIZE:
        gate._users.clear()
    gate._users[user_id] = (now + USER_CACHE_SECONDS, row)
    return row
