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
from opsconductor.auth.secrets import KEY_PREFIX
from opsconductor.auth.tokens import TokenError, TokenIssuer, signing_key
from opsconductor.config import Settings
from opsconductor.errors import StoreError, Unauthorized
from opsconductor.store.tables import users

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
    #: taken around changes to users (the last enabled admin must stay)
    user_changes: asyncio.Lock = field(default_factory=asyncio.Lock)
    _users: dict[str, tuple[float, Any]] = field(default_factory=dict)

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
        networks={
            role: [ipaddress.ip_network(net, strict=False) for net in nets]
            for role, nets in settings.ip_allowlist.items()
        },
    )
    context.gate = gate
    return gate


def looks_like_key(token: str) -> bool:
    """Whether a credential is an API key rather than an access token."""
    return token.startswith(KEY_PREFIX)


async def authenticate_token(context: AppContext, token: str) -> Principal:
    """The principal an access token or API key stands for; ``Unauthorized`` if none."""
    gate = await gatekeeper(context)
    if looks_like_key(token):
        return await _key_principal(context, token)
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
