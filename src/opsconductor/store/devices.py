"""Devices: created on first sight of a ``device_id``, ``last_seen`` advanced afterwards.

The upsert is one statement per batch (one row per distinct device, in id order) ending in
``ON CONFLICT (id) DO UPDATE … WHERE`` the batch widens ``[first_seen, last_seen]``; a device
that is merely seen again within its known window is not rewritten. Being a single atomic
statement, it is safe against other processes inserting the same device at the same time.
``first_seen``/``last_seen`` come from ``received_at``: the collector's clock, not the device's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.inventory.identity import peer_address
from opsconductor.messages import Event
from opsconductor.store.pagination import (
    Page,
    check_limit,
    decode_text_cursor,
    encode_cursor,
    row_as,
)
from opsconductor.store.tables import as_columns, devices

_UPSERT_TAIL = (
    "ON CONFLICT (id) DO UPDATE SET "
    "first_seen = {least}(devices.first_seen, excluded.first_seen), "
    "last_seen = {greatest}(devices.last_seen, excluded.last_seen) "
    "WHERE excluded.last_seen > devices.last_seen OR excluded.first_seen < devices.first_seen"
)
_COLUMNS = "id, name, address, hostname, first_seen, last_seen, created_at"
_SQLITE_UPSERT = f"INSERT INTO devices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) " + (
    _UPSERT_TAIL.format(least="min", greatest="max")
)
_PG_UPSERT = (
    f"INSERT INTO devices ({_COLUMNS}) SELECT * FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[]) "
) + _UPSERT_TAIL.format(least="LEAST", greatest="GREATEST")


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A device as the store knows it (``name`` is the hostname, else the peer address;
    ``last_seen`` is 0 for a device an operator added that has sent nothing yet)."""

    id: str
    name: str
    address: str
    hostname: str
    first_seen: float
    last_seen: float
    created_at: float
    site: str = ""
    groups: list[str] | None = None
    tags: list[str] | None = None
    description: str = ""


def _device_rows(
    batch: Sequence[Event], now: float
) -> list[tuple[str, str, str, str, float, float, float]]:
    seen: dict[str, tuple[Event, float, float]] = {}
    for event in batch:
        known = seen.get(event.device_id)
        if known is None:
            seen[event.device_id] = (event, event.received_at, event.received_at)
        else:
            first, low, high = known
            seen[event.device_id] = (
                first,
                min(low, event.received_at),
                max(high, event.received_at),
            )
    rows = []
    for device_id in sorted(seen):
        event, low, high = seen[device_id]
        address = peer_address(event.peer)
        rows.append((device_id, event.host or address, address, event.host, low, high, now))
    return rows


async def upsert_devices(session: AsyncSession, batch: Sequence[Event]) -> None:
    """Create a row for each new ``device_id`` in ``batch``; widen the seen times of known ones.

    Runs in the session's transaction (the caller commits).
    """
    if not batch:
        return
    rows = _device_rows(batch, time.time())
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_PG_UPSERT, as_columns(rows))
    else:
        await conn.exec_driver_sql(_SQLITE_UPSERT, rows)


async def list_devices(
    session: AsyncSession,
    *,
    cursor: str | None,
    limit: int,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
) -> Page[DeviceRow]:
    """Devices (matching ``conditions``) ordered by ``(name, id)``, one keyset page at a time
    (bad cursor: ``InputError``)."""
    check_limit(limit)
    stmt = (
        sa.select(devices)
        .where(*conditions)
        .order_by(devices.c.name, devices.c.id)
        .limit(limit + 1)
    )
    if cursor is not None:
        key = decode_text_cursor(cursor)
        stmt = stmt.where(sa.tuple_(devices.c.name, devices.c.id) > sa.tuple_(*key))
    items = [row_as(DeviceRow, row) for row in await session.execute(stmt)]
    if len(items) <= limit:
        return Page(items, None)
    del items[limit:]
    return Page(items, encode_cursor((items[-1].name, items[-1].id)))


async def get_device(session: AsyncSession, device_id: str) -> DeviceRow | None:
    """The device with ``device_id``, or ``None``."""
    row = (await session.execute(sa.select(devices).where(devices.c.id == device_id))).first()
    return None if row is None else row_as(DeviceRow, row)
