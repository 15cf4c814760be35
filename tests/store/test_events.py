"""Events: idempotent insert, round trip, filters, keyset pagination — on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.errors import InputError
from opsconductor.ids import new_ulid
from opsconductor.messages import Event
from opsconductor.store import (
    EventFilter,
    add_events,
    count_events,
    get_event,
    list_events,
)
from opsconductor.store.pagination import encode_cursor
from opsconductor.store.tables import EVENT_COLUMNS

Factory = async_sessionmaker[AsyncSession]
EventMaker = Callable[..., Event]


async def _store(factory: Factory, events: list[Event]) -> int:
    async with factory() as session, session.begin():
        return await add_events(session, events)


async def _walk(factory: Factory, flt: EventFilter, limit: int) -> list[Event]:
    rows: list[Event] = []
    cursor: str | None = None
    async with factory() as session:
        while True:
            page = await list_events(session, flt, cursor=cursor, limit=limit)
            assert len(page.items) <= limit
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor


def test_the_table_mirrors_the_message() -> None:
    """Rows become ``Event``s positionally: the column order must be the field order."""
    assert tuple(Event.__struct_fields__)[: len(EVENT_COLUMNS)] == EVENT_COLUMNS
    assert set(Event.__struct_fields__) - set(EVENT_COLUMNS) == {"v"}


async def test_add_events_is_idempotent(factory: Factory, make_event: EventMaker) -> None:
    batch = [make_event() for _ in range(50)]
    assert await _store(factory, batch) == 50
    assert await _store(factory, batch) == 0
    assert await _store(factory, [*batch[:10], make_event(), make_event()]) == 2
    assert await _store(factory, []) == 0
    async with factory() as session:
        assert await count_events(session) == 52


async def test_duplicate_ids_within_one_batch(factory: Factory, make_event: EventMaker) -> None:
    event = make_event()
    assert await _store(factory, [event, event]) == 1


async def test_every_field_round_trips(factory: Factory, make_event: EventMaker) -> None:
    event = make_event(
        facility=None,
        severity=None,
        procid="-",
        msgid="ID47",
        message="naïve ünïcode ✓ and 'quotes' \"too\"",
        structured_data={"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}},
        extra={"iface": "wlan0", "mac": "00:11:22:33:44:55"},
        format="rfc5424",
        parse_status="partial",
        timestamp=1_700_000_000.123456,
    )
    await _store(factory, [event])
    async with factory() as session:
        row = await get_event(session, event.id)
        assert await get_event(session, "missing") is None
    assert row is not None
    expected = {name: getattr(event, name) for name in EVENT_COLUMNS}
    assert row == event
    assert {k: v for k, v in msgspec.structs.asdict(row).items() if k != "v"} == expected


async def test_insert_joins_the_session_transaction(
    factory: Factory, make_event: EventMaker
) -> None:
    async with factory() as session:
        assert await add_events(session, [make_event(), make_event()]) == 2
        await session.rollback()
    async with factory() as session:
        assert await count_events(session) == 0


def _at(moment: float) -> dict[str, Any]:
    """Fields of a record received at ``moment`` whose own clock is a day behind."""
    return {"id": new_ulid(moment), "received_at": moment, "timestamp": moment - 86400}


async def test_filters(factory: Factory, make_event: EventMaker) -> None:
    base = 1_700_000_000.0
    events = [
        make_event(**_at(base + 1), severity=3, program="kernel", domain="network"),
        make_event(**_at(base + 2), severity=6, peer="198.51.100.7:514", host="gw"),
        make_event(**_at(base + 3), severity=None, source="http", message="Disk 100% FULL"),
        make_event(**_at(base + 4), severity=0, message="under_score and 50% off"),
    ]
    await _store(factory, events)
    e0, e1, e2, e3 = (e.id for e in events)
    cases = {
        EventFilter(): [e3, e2, e1, e0],
        EventFilter(device_id=events[1].device_id): [e1],
        EventFilter(domain="network"): [e0],
        EventFilter(severity_max=3): [e3, e0],
        EventFilter(program="kernel"): [e0],
        EventFilter(since=base + 2): [e3, e2, e1],
        EventFilter(until=base + 2): [e0],
        EventFilter(since=base + 2, until=base + 4): [e2, e1],
        EventFilter(stated_since=base + 2 - 86400): [e3, e2, e1],
        EventFilter(stated_until=base + 2 - 86400): [e0],
        EventFilter(text="disk 100%"): [e2],
        EventFilter(text="0%"): [e3, e2],
        EventFilter(text="r_s"): [e3],
        EventFilter(text="%"): [e3, e2],
        EventFilter(text="nothing like this"): [],
        EventFilter(source="http"): [e2],
        EventFilter(source="syslog-udp", severity_max=6, domain="wifi"): [e3, e1],
    }
    for flt, expected in cases.items():
        assert [row.id for row in await _walk(factory, flt, 10)] == expected, flt


async def test_pagination_walks_every_row_once(factory: Factory, make_event: EventMaker) -> None:
    base = 1_700_000_000.0
    events = [make_event(timestamp=base + (i % 5), host=f"h{i % 3}") for i in range(53)]
    await _store(factory, events)
    expected = sorted(events, key=lambda e: e.id, reverse=True)  # newest received first
    for limit in (1, 4, 7, 53, 100):
        rows = await _walk(factory, EventFilter(), limit)
        assert [r.id for r in rows] == [e.id for e in expected]
    device = events[0].device_id
    rows = await _walk(factory, EventFilter(device_id=device), 4)
    assert [r.id for r in rows] == [e.id for e in expected if e.device_id == device]


async def test_page_flags_last_page(factory: Factory, make_event: EventMaker) -> None:
    await _store(factory, [make_event() for _ in range(3)])
    async with factory() as session:
        first = await list_events(session, EventFilter(), cursor=None, limit=3)
        assert len(first.items) == 3
        assert first.next_cursor is None
        page = await list_events(session, EventFilter(), cursor=None, limit=2)
        assert page.next_cursor is not None
        empty = await list_events(session, EventFilter(domain="none"), cursor=None, limit=5)
        assert empty.items == []
        assert empty.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    ["", "not-base64!", "bm90IGpzb24", encode_cursor(("text", "id")), "W10", "é"],
)
async def test_invalid_cursor_is_an_input_error(factory: Factory, cursor: str) -> None:
    async with factory() as session:
        with pytest.raises(InputError):
            await list_events(session, EventFilter(), cursor=cursor, limit=10)


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_invalid_limit_is_an_input_error(factory: Factory, limit: int) -> None:
    async with factory() as session:
        with pytest.raises(InputError):
            await list_events(session, EventFilter(), cursor=None, limit=limit)
