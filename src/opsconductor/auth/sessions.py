"""Web sessions: what the console's cookie stands for.

The cookie carries a 256-bit secret (``ocs_…``); the store keeps its SHA-256 only, beside the
session's CSRF token, its absolute expiry and when it was last seen (for the idle limit).
Logging out deletes the row; a password change deletes every session of the user.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.secrets import digest, new_session_secret
from opsconductor.store.tables import users, web_sessions

SEEN_EVERY = 60.0
"""Seconds between two updates of a session's ``seen_at`` (not one write per request)."""


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How long a session lives: at most ``lifetime`` seconds, ``idle`` seconds unused."""

    lifetime: float
    idle: float


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the cookie's secret (shown once) and its CSRF token."""

    secret: str
    csrf: str
    expires_at: float


async def open_session(
    session: AsyncSession, user_id: str, now: float, limits: SessionLimits, client: tuple[str, str]
) -> NewSession:
    """Open a session for ``user_id``; ``client`` is (source address, user agent)."""
    secret = new_session_secret()
    csrf = secrets.token_urlsafe(32)
    expires = now + limits.lifetime
    await session.execute(
        sa.insert(web_sessions).values(
            id=digest(secret), user_id=user_id, csrf=csrf, created_at=now, seen_at=now,
            expires_at=expires, source=client[0][:64], user_agent=client[1][:200],
        )
    )  # fmt: skip
    return NewSession(secret, csrf, expires)


async def find_session(
    session: AsyncSession, secret: str, now: float, limits: SessionLimits
) -> Any | None:
    """The live session ``secret`` opens, joined with its user; ``None`` if none holds.

    An expired or idle session is deleted on the way; ``seen_at`` moves at most every
    ``SEEN_EVERY`` seconds.
    """
    key = digest(secret)
    stmt = (
        sa.select(
            web_sessions.c.id, web_sessions.c.csrf, web_sessions.c.seen_at,
            web_sessions.c.expires_at, web_sessions.c.user_id, users.c.username,
            users.c.role, users.c.disabled,
        )
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.id == key)
    )  # fmt: skip
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    if row.expires_at <= now or row.seen_at + limits.idle <= now:
        await session.execute(sa.delete(web_sessions).where(web_sessions.c.id == key))
        return None
    if now - row.seen_at >= SEEN_EVERY:
        await session.execute(
            sa.update(web_sessions).where(web_sessions.c.id == key).values(seen_at=now)
        )
    return row


async def close_session(session: AsyncSession, secret: str) -> None:
    """Log a session out."""
    await session.execute(sa.delete(web_sessions).where(web_sessions.c.id == digest(secret)))


async def close_user_sessions(session: AsyncSession, user_id: str) -> None:
    """End every session of ``user_id`` (password changed, user disabled or removed)."""
    await session.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == user_id))


async def purge_sessions(session: AsyncSession, now: float, limits: SessionLimits) -> int:
    """Delete expired and idle sessions; returns how many."""
    stale = sa.or_(web_sessions.c.expires_at <= now, web_sessions.c.seen_at <= now - limits.idle)
    result = await session.execute(sa.delete(web_sessions).where(stale))
    return int(getattr(result, "rowcount", 0) or 0)
