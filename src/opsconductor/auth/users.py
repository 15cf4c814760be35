"""Users in the database: create, read, list, change, and the login bookkeeping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.passwords import check_policy, hash_password
from opsconductor.auth.roles import check_role
from opsconductor.errors import Conflict, InputError, NotFound
from opsconductor.ids import new_ulid
from opsconductor.store.tables import users

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""A pattern for names and free text: no control characters (PostgreSQL refuses NUL)."""
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
PUBLIC_COLUMNS = (
    "id", "username", "full_name", "email", "role", "disabled", "totp_enabled",
    "locked_until", "last_login_at", "password_changed_at", "created_at",
)  # fmt: skip
"""What the API may show of a user: never the password hash or the TOTP secret."""


class UserExists(Conflict):
    """A username that is taken (HTTP 409)."""


class NoSuchUser(NotFound):
    """A user id or name that does not exist (HTTP 404)."""


@dataclass(frozen=True, slots=True)
class NewUser:
    """What creating a user takes."""

    username: str
    password: str
    role: str
    full_name: str = ""
    email: str = ""


def check_username(username: str) -> str:
    """``username`` if it is 2–64 lower-case letters, digits or ``. _ @ -``."""
    if not USERNAME.match(username):
        raise InputError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_', '@', '-'"
        )
    return username


async def create_user(session: AsyncSession, new: NewUser, now: float) -> dict[str, Any]:
    """Insert a user (the caller commits); 409 if the name is taken."""
    check_username(new.username)
    role = check_role(new.role)
    check_policy(new.password, new.username)
    if await find_user(session, new.username) is not None:
        raise UserExists(f"user {new.username!r} exists")
    row = {
        "id": new_ulid(now), "username": new.username, "full_name": new.full_name,
        "email": new.email, "password_hash": hash_password(new.password), "role": role.value,
        "disabled": False, "totp_enabled": False, "failed_logins": 0,
        "password_changed_at": now, "created_at": now,
    }  # fmt: skip
    await session.execute(sa.insert(users).values(**row))
    return public(row | {"locked_until": None, "last_login_at": None})


def public(row: Any) -> dict[str, Any]:
    """The columns of a user the API may show."""
    mapping = row if isinstance(row, dict) else row._mapping
    return {name: mapping.get(name) for name in PUBLIC_COLUMNS}


async def find_user(session: AsyncSession, username: str) -> Any | None:
    """The full row of ``username``, or ``None``."""
    return (await session.execute(sa.select(users).where(users.c.username == username))).first()


async def get_user(session: AsyncSession, user_id: str) -> Any:
    """The full row of user ``user_id``; 404 if there is none."""
    row = (await session.execute(sa.select(users).where(users.c.id == user_id))).first()
    if row is None:
        raise NoSuchUser(f"no user {user_id!r}")
    return row


async def list_users(session: AsyncSession, after: str | None, limit: int) -> list[Any]:
    """Users by name, ``limit`` of them after the name ``after``."""
    stmt = sa.select(users).order_by(users.c.username).limit(limit)
    if after is not None:
        stmt = stmt.where(users.c.username > after)
    return list(await session.execute(stmt))


async def update_user(session: AsyncSession, user_id: str, changes: dict[str, Any]) -> None:
    """Apply ``changes`` (already validated columns) to user ``user_id``."""
    await get_user(session, user_id)
    if "role" in changes:
        changes["role"] = check_role(str(changes["role"])).value
    await session.execute(sa.update(users).where(users.c.id == user_id).values(**changes))


async def set_password(session: AsyncSession, user: Any, password: str, now: float) -> None:
    """Give ``user`` a new password (policy-checked); unlocks the account."""
    check_policy(password, user.username)
    await session.execute(
        sa.update(users)
        .where(users.c.id == user.id)
        .values(
            password_hash=hash_password(password),
            password_changed_at=now,
            failed_logins=0,
            locked_until=None,
        )
    )


async def count_admins(session: AsyncSession) -> int:
    """Enabled admins (the last one may not be demoted, disabled or deleted)."""
    stmt = sa.select(sa.func.count()).where(users.c.role == "admin", users.c.disabled.is_(False))
    return int(await session.scalar(stmt) or 0)


async def delete_user(session: AsyncSession, user_id: str) -> None:
    """Remove user ``user_id``."""
    await get_user(session, user_id)
    await session.execute(sa.delete(users).where(users.c.id == user_id))
