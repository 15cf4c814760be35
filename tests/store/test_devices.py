"""Devices: created on first sight, seen times widened, race-safe, paged — on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.messages import Event
from opsconductor.store import DeviceRow, get_device, list_devices, upsert_devices

Factory = async_sessionmaker[AsyncSession]
EventMaker = Callable[..., Event]


async def _upsert(factory: Factory, events: list[Event]) -> None:
    async with factory() as session, session.begin():
        await upsert_devices(session, events)


async def _device(factory: Factory, device_id: str) -> DeviceRow:
    async with factory() as session:
        row = await get_device(session, device_id)
    assert row is not None
    return row


async def test_device_created_on_first_sight(factory: Factory, make_event: EventMaker) -> None:
    named = make_event(peer="192.0.2.1:514", host="ap-lobby", received_at=100.0)
    anonymous = make_event(peer="[2001:db8::1]:514", host="", received_at=101.0)
    await _upsert(factory, [named, named, anonymous])
    row = await _device(factory, named.device_id)
    assert (row.name, row.address, row.hostname) == ("ap-lobby", "192.0.2.1", "ap-lobby")
    assert (row.first_seen, row.last_seen) == (100.0, 100.0)
    assert row.created_at > 0
    row = await _device(factory, anonymous.device_id)
    assert (row.name, row.address, row.hostname) == ("2001:db8::1", "2001:db8::1", "")


async def test_last_seen_advances_first_seen_stays(
    factory: Factory, make_event: EventMaker
) -> None:
    await _upsert(factory, [make_event(received_at=100.0), make_event(received_at=105.0)])
    first = make_event(received_at=100.0)
    await _upsert(factory, [make_event(received_at=200.0), make_event(received_at=150.0)])
    row = await _device(factory, first.device_id)
    assert (row.first_seen, row.last_seen) == (100.0, 200.0)
    await _upsert(factory, [make_event(received_at=120.0)])  # older: nothing moves
    assert await _device(factory, first.device_id) == row
    await _upsert(factory, [make_event(received_at=50.0)])  # replayed older record
    assert (await _device(factory, first.device_id)).first_seen == 50.0


async def test_concurrent_first_sight_is_safe(factory: Factory, make_event: EventMaker) -> None:
    batches = [
        [make_event(host=f"ap-{n}", received_at=100.0 + k) for n in range(20)] for k in range(6)
    ]
    await asyncio.gather(*(_upsert(factory, batch) for batch in batches))
    async with factory() as session:
        page = await list_devices(session, cursor=None, limit=100)
    assert len(page.items) == 20
    assert {row.last_seen for row in page.items} == {105.0}
    assert {row.first_seen for row in page.items} == {100.0}


async def test_list_devices_pages_by_name(factory: Factory, make_event: EventMaker) -> None:
    await _upsert(factory, [make_event(host=f"ap-{n:02d}") for n in range(11)])
    await _upsert(factory, [make_event(host="ap-05", peer="192.0.2.99:514")])  # same name
    names: list[str] = []
    seen: set[str] = set()
    cursor: str | None = None
    async with factory() as session:
        while True:
            page = await list_devices(session, cursor=cursor, limit=5)
            names.extend(row.name for row in page.items)
            seen.update(row.id for row in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert names == sorted(names)
    assert len(names) == len(seen) == 12
