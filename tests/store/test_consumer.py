"""The store stage: idempotent writes, and rows the database refuses kept as dead letters."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.protocol import Delivery
from opsconductor.messages import Event, EventBatch
from opsconductor.observability import Metrics
from opsconductor.store import count_events, list_dead_letters
from opsconductor.store.consumer import StoreStage

Factory = async_sessionmaker[AsyncSession]


def _stage(factory: Factory) -> StoreStage:
    return StoreStage(MemoryBus(), factory, Metrics(), retention_days=7, retention_interval=3600)


async def test_a_refused_row_does_not_take_its_group_with_it(
    engine: AsyncEngine, factory: Factory, make_event: Callable[..., Event]
) -> None:
    good = [make_event() for _ in range(5)]
    bad = make_event(host="nul\x00host")  # PostgreSQL text refuses NUL; SQLite stores it
    batch = EventBatch("b1", [*good[:2], bad, *good[2:]])
    stage = _stage(factory)
    for _ in range(2):  # a redelivered batch changes nothing
        await stage.handle_events([Delivery("events.wifi", batch)])
    async with factory() as session:
        stored = await count_events(session)
        letters = (await list_dead_letters(session, source=None, cursor=None, limit=10)).items
    if engine.dialect.name == "postgresql":
        assert stored == 5
        assert [letter.id for letter in letters] == [bad.id]
        assert letters[0].reason.startswith("store refused: ")
        assert "INSERT" not in letters[0].reason  # never the SQL, which holds other rows
    else:
        assert stored == 6
        assert letters == []
