"""The first admin: created on first start when no user exists yet."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.auth.passwords import PasswordPolicyError, generate_password
from opsconductor.auth.users import NewUser, UserExists, create_user
from opsconductor.errors import ConfigError
from opsconductor.store.tables import users

ADMIN = "admin"


async def ensure_admin(
    sessions: async_sessionmaker[AsyncSession], password: str | None
) -> str | None:
    """Create ``admin`` if there are no users; the password if it was generated, else None.

    ``password`` (from ``OPSC_ADMIN_PASSWORD``) must meet the password policy. When two
    processes start at once, one creates the user and the other finds it.
    """
    async with sessions() as session:
        if await session.scalar(sa.select(sa.func.count()).select_from(users)):
            return None
        chosen = password or generate_password()
        try:
            await create_user(session, NewUser(ADMIN, chosen, "admin"), time.time())
            await session.commit()
        except PasswordPolicyError as exc:
            raise ConfigError(f"OPSC_ADMIN_PASSWORD: {exc}") from exc
        except (IntegrityError, UserExists):
            return None
    return None if password else chosen
