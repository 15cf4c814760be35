"""Statement builders shared by the store's writers: the dialect's ``INSERT`` (for
``ON CONFLICT``), and PostgreSQL's one-statement bulk insert from column arrays."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

Insert = Callable[[sa.Table], postgresql.Insert] | Callable[[sa.Table], sqlite.Insert]


def insert_for(session: AsyncSession) -> Insert:
    """``insert`` of the session's dialect, the one with ``on_conflict_do_…``."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def pg_unnest_insert(
    table: str,
    columns: Sequence[str],
    *,
    types: Mapping[str, str],
    json_columns: Collection[str],
    tail: str,
) -> str:
    """``INSERT INTO table (…) SELECT … FROM unnest($1::type[], …)`` followed by ``tail``
    (``ON CONFLICT …``): one array per column (``text`` unless ``types`` names another),
    JSON columns cast from text. One statement for a whole batch, whatever its size."""
    names = ", ".join(f'"{name}"' for name in columns)
    arrays = ", ".join(
        f"${i}::{types.get(name, 'text')}[]" for i, name in enumerate(columns, start=1)
    )
    selected = ", ".join(
        f'"{name}"::jsonb' if name in json_columns else f'"{name}"' for name in columns
    )
    source = f"SELECT {selected} FROM unnest({arrays}) AS t({names})"
    return f"INSERT INTO {table} ({names}) {source} {tail}"


async def transaction_lock(session: AsyncSession, key: int) -> None:
    """On PostgreSQL, take the advisory lock ``key`` until the transaction ends (writers of
    every process take turns); SQLite already lets one writer at a time, so nothing there."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
