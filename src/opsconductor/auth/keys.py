"""API keys for service accounts: shown once, stored as a digest, role-scoped, expiring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.roles import check_role
from opsconductor.auth.secrets import digest, key_prefix, new_api_key, same
from opsconductor.errors import InputError, NotFound
from opsconductor.ids import new_ulid
from opsconductor.store.tables import api_keys

PUBLIC_COLUMNS = (
    "id", "name", "prefix", "role", "created_by", "created_at", "expires_at", "revoked_at",
    "last_used_at",
)  # fmt: skip
_TOUCH_EVERY = 60.0
"""``last_used_at`` is written at most once a minute per key, not on every request."""


class NoSuchKey(NotFound):
    """An API key id that does not exist (HTTP 404)."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """What creating an API key takes."""

    name: str
    role: str
    created_by: str
    expires_at: float | None = None


async def create_key(session: AsyncSession, new: NewKey, now: float) -> tuple[str, dict[str, Any]]:
    """A new key (the secret, to show once) and its stored, public description."""
    role = check_role(new.role)
    if not new.name.strip() or len(new.name) > 100:
        raise InputError("key name must be 1-100 characters")
    if new.expires_at is not None and new.expires_at <= now:
        raise InputError("expires_at must be in the future")
    key, prefix = new_api_key()
    row = {
        "id": new_ulid(now), "name": new.name.strip(), "prefix": prefix, "key_hash": digest(key),
        "role": role.value, "created_by": new.created_by, "created_at": now,
        "expires_at": new.expires_at, "revoked_at": None, "last_used_at": None,
    }  # fmt: skip
    await session.execute(sa.insert(api_keys).values(**row))
    return key, public(row)


def public(row: Any) -> dict[str, Any]:
    """What the API may show of a key: never the secret or its digest."""
    mapping = row if isinstance(row, dict) else row._mapping
    return {name: mapping.get(name) for name in PUBLIC_COLUMNS}


async def list_keys(session: AsyncSession, after: str | None, limit: int) -> list[Any]:
    """Keys newest first, ``limit`` of them older than id ``after``."""
    stmt = sa.select(api_keys).order_by(api_keys.c.id.desc()).limit(limit)
    if after is not None:
        stmt = stmt.where(api_keys.c.id < after)
    return list(await session.execute(stmt))


async def get_key(session: AsyncSession, key_id: str) -> Any:
    """The row of key ``key_id``, or 404."""
    row = (await session.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
    if row is None:
        raise NoSuchKey(f"no API key {key_id!r}")
    return row


async def find_key(session: AsyncSession, id_or_prefix: str) -> Any:
    """The row of the key with this id or public prefix (``opsc_ab12cd34``), or 404."""
    stmt = sa.select(api_keys).where(
        sa.or_(api_keys.c.id == id_or_prefix, api_keys.c.prefix == id_or_prefix)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NoSuchKey(f"no API key with the id or prefix {id_or_prefix!r}")
    return row


async def revoke_key(session: AsyncSession, key_id: str, now: float) -> Any:
    """Revoke key ``key_id`` (idempotent); its row after."""
    await get_key(session, key_id)
    await session.execute(
        sa.update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return await get_key(session, key_id)


async def check_key(session: AsyncSession, key: str, now: float) -> Any | None:
    """The row of a valid key (not revoked, not expired), else ``None``; notes its use."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = (await session.execute(sa.select(api_keys).where(api_keys.c.prefix == prefix))).first()
    if row is None or not same(row.key_hash, digest(key)):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        await session.execute(
            sa.update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now)
        )
    return row
