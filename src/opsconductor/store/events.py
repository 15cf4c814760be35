"""Events: the idempotent bulk insert (the hot path), the filtered listing and retention.

The insert bypasses the ORM and SQLAlchemy's parameter processing: rows are plain tuples
(JSON columns encoded once with msgspec) handed to the driver in a single call — an
``executemany`` on SQLite, one ``INSERT … SELECT FROM unnest(<one array per column>)`` on
PostgreSQL. Both end in ``ON CONFLICT (id) DO NOTHING`` so a redelivered batch is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.ids import ulid_floor
from opsconductor.messages import Event
from opsconductor.store.bulk import pg_unnest_insert
from opsconductor.store.pagination import (
    Page,
    check_limit,
    decode_id_cursor,
    encode_id_cursor,
)
from opsconductor.store.tables import EVENT_COLUMNS, as_columns, events
from opsconductor.store.text import contains_text

_json_encode = msgspec.json.Encoder().encode
_by_id = attrgetter("id")
_COLUMN_LIST = ", ".join(f'"{name}"' for name in EVENT_COLUMNS)
_PG_ARRAY_TYPES = {
    "received_at": "float8",
    "timestamp": "float8",
    "facility": "int2",
    "severity": "int2",
}
_PG_JSON_COLUMNS = frozenset({"structured_data", "extra"})


def _pg_insert_sql() -> str:
    return pg_unnest_insert(
        "events",
        EVENT_COLUMNS,
        types=_PG_ARRAY_TYPES,
        json_columns=_PG_JSON_COLUMNS,
        tail="ON CONFLICT (id) DO NOTHING",
    )


_SQLITE_INSERT = (
    f"INSERT INTO events ({_COLUMN_LIST}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) "
    "ON CONFLICT (id) DO NOTHING"
)
_PG_INSERT = _pg_insert_sql()


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Conditions of an event listing; ``None`` means "any". All given conditions must hold.

    ``severity_max`` keeps events of that syslog severity or worse (numerically ``<=``);
    ``since``/``until`` bound the time of receipt (``since <= received < until``, a range of
    the primary key); ``stated_since``/``stated_until`` bound the time the record states
    (``timestamp``, not indexed: it narrows a scan); ``text`` is a case-insensitive substring
    of ``message`` (on SQLite, case folding covers ASCII letters).
    """

    device_id: str | None = None
    domain: str | None = None
    severity_max: int | None = None
    program: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    source: str | None = None
    stated_since: float | None = None
    stated_until: float | None = None


def _json_text(value: dict[str, Any]) -> str:
    return _json_encode(value).decode() if value else "{}"


def _row(event: Event) -> tuple[Any, ...]:
    e = event
    return (
        e.id, e.received_at, e.timestamp, e.source, e.peer, e.device_id, e.host, e.facility,
        e.severity, e.program, e.procid, e.msgid, e.message, _json_text(e.structured_data),
        _json_text(e.extra), e.format, e.parse_status, e.domain,
    )  # fmt: skip


async def add_events(session: AsyncSession, batch: Sequence[Event]) -> int:
    """Insert ``batch``, skipping ids already stored; returns how many rows were inserted.

    Runs in the session's transaction (the caller commits). On PostgreSQL rows go in id
    order so concurrent writers of overlapping batches lock in the same order (no deadlock).
    """
    if not batch:
        return 0
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        rows = [_row(event) for event in sorted(batch, key=_by_id)]
        result = await conn.exec_driver_sql(_PG_INSERT, as_columns(rows))
    else:
        result = await conn.exec_driver_sql(_SQLITE_INSERT, [_row(event) for event in batch])
    return max(result.rowcount, 0)


def event_conditions(flt: EventFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``events`` that ``flt`` asks for."""
    c = events.c
    equal = {
        c.device_id: flt.device_id, c.domain: flt.domain, c.program: flt.program,
        c.source: flt.source,
    }  # fmt: skip
    found = [column == value for column, value in equal.items() if value is not None]
    if flt.severity_max is not None:
        found.append(c.severity <= flt.severity_max)
    if flt.since is not None:
        found.append(c.id >= ulid_floor(flt.since))
    if flt.until is not None:
        found.append(c.id < ulid_floor(flt.until))
    if flt.stated_since is not None:
        found.append(c.timestamp >= flt.stated_since)
    if flt.stated_until is not None:
        found.append(c.timestamp < flt.stated_until)
    if flt.text:
        found.append(contains_text(c.message, flt.text))
    return found


async def list_events(
    session: AsyncSession, flt: EventFilter, *, cursor: str | None, limit: int
) -> Page[Event]:
    """Events matching ``flt``, newest received first, one keyset page at a time.

    The order is the id's — a ULID minted on receipt — so it holds even when devices' clocks
    are wrong, and the primary key (or the device index) serves it without a sort.

    ``cursor`` is the ``next_cursor`` of the previous page; an invalid one raises
    ``InputError``, as does a ``limit`` outside ``1..MAX_LIMIT``.
    """
    check_limit(limit)
    stmt = (
        sa.select(events)
        .where(*event_conditions(flt))
        .order_by(events.c.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(events.c.id < decode_id_cursor(cursor))
    result = await session.execute(stmt)
    items = [Event(*row) for row in result]
    if len(items) <= limit:
        return Page(items, None)
    del items[limit:]
    last = items[-1]
    return Page(items, encode_id_cursor(last.id))


async def get_event(session: AsyncSession, event_id: str) -> Event | None:
    """The event with ``event_id``, or ``None``."""
    result = await session.execute(sa.select(events).where(events.c.id == event_id))
    row = result.first()
    return None if row is None else Event(*row)


async def count_events(session: AsyncSession) -> int:
    """How many events are stored (a full count: use sparingly on large tables)."""
    result = await session.execute(sa.select(sa.func.count()).select_from(events))
    return int(result.scalar_one())


async def delete_events_before(session: AsyncSession, cutoff: float, *, chunk: int = 10000) -> int:
    """Delete events received before ``cutoff``; returns how many were deleted.

    Age is the time the product received the record, not the time the device states: a
    device with a wrong clock (no NTP after boot) or a replayed old log must not have its
    events deleted at once. Record ids are ULIDs minted on receipt, so "received before the
    cutoff" is ``id < the smallest ULID of the cutoff millisecond`` — served by the primary
    key, no extra index.

    Deletes at most ``chunk`` rows per transaction and **commits after each chunk**, so the
    job never holds the write lock (SQLite) or row locks (PostgreSQL) for long. Only call it
    with a session that has no other pending work.
    """
    return await delete_received_before(session, events, cutoff, chunk=chunk)


async def delete_received_before(
    session: AsyncSession, table: sa.Table, cutoff: float, *, chunk: int = 10000
) -> int:
    """Delete rows of ``table`` (ULID ``id`` minted on receipt) received before ``cutoff``,
    ``chunk`` rows per committed transaction; returns how many were deleted."""
    if chunk < 1:
        raise ValueError("chunk must be positive")
    doomed = sa.select(table.c.id).where(table.c.id < ulid_floor(cutoff)).limit(chunk)
    stmt = sa.delete(table).where(table.c.id.in_(doomed.scalar_subquery()))
    total = 0
    while True:
        conn = await session.connection()
        deleted = max((await conn.execute(stmt)).rowcount, 0)
        await session.commit()
        total += deleted
        if deleted < chunk:
            return total
