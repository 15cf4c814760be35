"""Refresh tokens: one family per login, rotated on every use; reuse revokes the family.

A refresh token is used once: ``rotate`` marks it used and issues its successor in the same
family. Presenting a used (or revoked) token means it was copied — the thief or the owner is
holding a stale one — so the whole family is revoked and both must log in again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.secrets import digest, new_refresh_token
from opsconductor.auth.tokens import TokenError
from opsconductor.ids import new_ulid
from opsconductor.store.tables import refresh_tokens


async def issue_refresh(
    session: AsyncSession, user_id: str, family: str | None, now: float, lifetime: float
) -> str:
    """A new refresh token for ``user_id`` (a new family when ``family`` is ``None``)."""
    token = new_refresh_token()
    await session.execute(
        sa.insert(refresh_tokens).values(
            id=new_ulid(now),
            family=family or new_ulid(now),
            user_id=user_id,
            token_hash=digest(token),
            issued_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


async def rotate(session: AsyncSession, token: str, now: float, lifetime: float) -> tuple[Any, str]:
    """Spend ``token``: its row and its successor. ``TokenError`` if it does not hold.

    The caller commits even on error, so that a detected reuse revokes the family for good.
    """
    row = (
        await session.execute(
            sa.select(refresh_tokens)
            .where(refresh_tokens.c.token_hash == digest(token))
            .with_for_update()
        )
    ).first()
    if row is None:
        raise TokenError("invalid refresh token")
    if row.revoked_at is not None:
        raise TokenError("refresh token revoked")
    if row.used_at is not None:
        await revoke_family(session, row.family, now)
        raise TokenError("refresh token reused; every session of this login is revoked")
    if row.expires_at <= now:
        raise TokenError("refresh token expired")
    spent = await session.execute(
        sa.update(refresh_tokens)
        .where(
            refresh_tokens.c.id == row.id,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(used_at=now)
    )
    if getattr(spent, "rowcount", 0) != 1:  # a concurrent refresh spent it first (SQLite)
        await revoke_family(session, row.family, now)
        raise TokenError("refresh token reused; every session of this login is revoked")
    return row, await issue_refresh(session, row.user_id, row.family, now, lifetime)


async def family_of(session: AsyncSession, token: str) -> tuple[str, str] | None:
    """The family of a refresh token and the user it belongs to, if it is one of ours."""
    row = (
        await session.execute(
            sa.select(refresh_tokens.c.family, refresh_tokens.c.user_id).where(
                refresh_tokens.c.token_hash == digest(token)
            )
        )
    ).first()
    return None if row is None else (str(row.family), str(row.user_id))


async def revoke_family(session: AsyncSession, family: str, now: float) -> None:
    """Revoke every token of one login."""
    await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user(session: AsyncSession, user_id: str, now: float) -> None:
    """Revoke every refresh token of a user (password change, disable, delete)."""
    await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
