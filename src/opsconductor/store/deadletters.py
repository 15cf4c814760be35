"""Dead letters: records a stage rejected, kept with the reason and the original bytes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.messages import DeadLetter
from opsconductor.store.pagination import Page, check_limit, decode_float_cursor, encode_cursor
from opsconductor.store.tables import as_columns, dead_letters

_COLUMNS = "id, received_at, source, peer, stage, reason, data, created_at"
_SQLITE_INSERT = (
    f"INSERT INTO dead_letters ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_PG_INSERT = (
    f"INSERT INTO dead_letters ({_COLUMNS}) SELECT * FROM unnest($1::text[], $2::float8[], "
    "$3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::float8[]) "
    "ON CONFLICT (id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """A stored dead letter; ``data`` holds the rejected record's bytes unchanged."""

    id: str
    received_at: float
    source: str
    peer: str
    stage: str
    reason: str
    data: bytes
    created_at: float


async def add_dead_letters(session: AsyncSession, letters: Sequence[DeadLetter]) -> int:
    """Insert ``letters``, skipping ids already stored; returns how many rows were inserted."""
    if not letters:
        return 0
    now = time.time()
    rows = [
        (d.id, d.received_at, d.source, d.peer, d.stage, d.reason, d.data, now)
        for d in sorted(letters, key=lambda letter: letter.id)
    ]
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        result = await conn.exec_driver_sql(_PG_INSERT, as_columns(rows))
    else:
        result = await conn.exec_driver_sql(_SQLITE_INSERT, rows)
    return max(result.rowcount, 0)


async def list_dead_letters(
    session: AsyncSession, *, source: str | None, cursor: str | None, limit: int
) -> Page[DeadLetterRow]:
    """Dead letters (of ``source``, if given), newest first by ``(received_at, id)``."""
    check_limit(limit)
    c = dead_letters.c
    stmt = sa.select(dead_letters).order_by(c.received_at.desc(), c.id.desc()).limit(limit + 1)
    if source is not None:
        stmt = stmt.where(c.source == source)
    if cursor is not None:
        key = decode_float_cursor(cursor)
        stmt = stmt.where(sa.tuple_(c.received_at, c.id) < sa.tuple_(*key))
    items = [DeadLetterRow(*row) for row in await session.execute(stmt)]
    if len(items) <= limit:
        return Page(items, None)
    del items[limit:]
    return Page(items, encode_cursor((items[-1].received_at, items[-1].id)))
