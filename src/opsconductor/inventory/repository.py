"""Devices as operators manage them: create, change, delete, filter and count by facet.

A created device takes the id ingest derives for the same address and hostname
(``identity.device_id``), so the logs it sends land on it. Until it sends one its
``last_seen`` is 0. Group and tag filters look inside the JSON lists: ``json_each`` on
SQLite, ``jsonb @>`` on PostgreSQL. The functions run in the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import Conflict
from opsconductor.inventory.identity import device_id
from opsconductor.store.devices import DeviceRow, get_device, list_devices
from opsconductor.store.pagination import (
    Page,
)
from opsconductor.store.tables import devices
from opsconductor.store.text import contains_text

FACETS = ("site", "groups", "tags")
"""The device attributes whose distinct values can be counted."""


class DeviceExists(Conflict):
    """A device with the same address and hostname is already known (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """What a device listing may be narrowed to; ``text`` is a substring of name, address
    or hostname (case-insensitive)."""

    site: str | None = None
    group: str | None = None
    tag: str | None = None
    text: str | None = None


def _contains(column: sa.Column[Any], value: str, dialect: str, key: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return sa.type_coerce(column, JSONB).contains([value])
    clause = sa.text(
        f"EXISTS (SELECT 1 FROM json_each(devices.{column.name}) AS j WHERE j.value = :{key})"
    ).bindparams(sa.bindparam(key, value))
    return sa.and_(clause)


def _conditions(flt: DeviceFilter, dialect: str) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.site is not None:
        conditions.append(devices.c.site == flt.site)
    if flt.group:
        conditions.append(_contains(devices.c.groups, flt.group, dialect, "group_value"))
    if flt.tag:
        conditions.append(_contains(devices.c.tags, flt.tag, dialect, "tag_value"))
    if flt.text:
        columns = (devices.c.name, devices.c.address, devices.c.hostname)
        conditions.append(sa.or_(*(contains_text(column, flt.text) for column in columns)))
    return conditions


async def _dialect(session: AsyncSession) -> str:
    return (await session.connection()).dialect.name


async def find_devices(
    session: AsyncSession, flt: DeviceFilter, *, cursor: str | None, limit: int
) -> Page[DeviceRow]:
    """Devices matching ``flt``, ordered by ``(name, id)``, one keyset page at a time."""
    conditions = _conditions(flt, await _dialect(session))
    return await list_devices(session, cursor=cursor, limit=limit, conditions=conditions)


async def create_device(session: AsyncSession, fields: Mapping[str, Any], now: float) -> DeviceRow:
    """Add a device; its id derives from ``address`` and ``hostname`` (``DeviceExists`` if
    known). ``name`` defaults to the hostname, else the address."""
    address, hostname = str(fields["address"]), str(fields.get("hostname") or "")
    new_id = device_id(address, hostname)
    if await get_device(session, new_id) is not None:
        raise DeviceExists(f"device {new_id} ({address} {hostname}) already exists")
    row = {
        "id": new_id,
        "name": fields.get("name") or hostname or address,
        "address": address,
        "hostname": hostname,
        "first_seen": now,
        "last_seen": 0.0,
        "created_at": now,
        "site": fields.get("site") or "",
        "groups": list(fields.get("groups") or []),
        "tags": list(fields.get("tags") or []),
        "description": fields.get("description") or "",
    }
    await session.execute(sa.insert(devices).values(**row))
    created = await get_device(session, new_id)
    assert created is not None
    return created


async def update_device(
    session: AsyncSession, device: str, changes: Mapping[str, Any]
) -> DeviceRow | None:
    """Apply ``changes`` (name, site, groups, tags, description); ``None`` if unknown."""
    if changes:
        await session.execute(sa.update(devices).where(devices.c.id == device).values(**changes))
    return await get_device(session, device)


async def delete_device(session: AsyncSession, device: str) -> bool:
    """Remove a device (its events stay); False when there was none."""
    result = await session.execute(sa.delete(devices).where(devices.c.id == device))
    return bool(getattr(result, "rowcount", 0))


async def facet_counts(session: AsyncSession, facet: str) -> list[tuple[str, int]]:
    """Each distinct value of ``facet`` (``site``, ``groups``, ``tags``) with how many
    devices have it, most common first (empty sites are not counted)."""
    if facet not in FACETS:
        raise ValueError(f"unknown facet {facet!r}")
    counts: Counter[str] = Counter()
    if facet == "site":
        stmt = (
            sa.select(devices.c.site, sa.func.count())
            .where(devices.c.site != "")
            .group_by(devices.c.site)
        )
        counts.update({str(site): int(n) for site, n in await session.execute(stmt)})
    else:
        column = devices.c[facet]
        for (values,) in await session.execute(sa.select(column)):
            counts.update({str(value) for value in values or ()})
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
