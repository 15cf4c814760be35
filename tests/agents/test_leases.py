"""Partition ownership between agents workers, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opsconductor.agents.leases import PartitionLeases
from opsconductor.store import create_engine

PARTITIONS = 8


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[list[PartitionLeases]]:
    engine = create_engine(postgres_url)
    made = [PartitionLeases(engine, PARTITIONS) for _ in range(3)]
    try:
        yield made
    finally:
        for leases in made:
            await leases.close()
        await engine.dispose()


async def test_one_worker_owns_every_partition(workers: list[PartitionLeases]) -> None:
    first = workers[0]
    await first.open()
    assert sorted(await first.acquire()) == list(range(PARTITIONS))
    assert await first.surplus() == []


async def test_partitions_are_shared_and_move_when_a_worker_goes(
    workers: list[PartitionLeases],
) -> None:
    first, second, _ = workers
    await first.open()
    await first.acquire()
    await second.open()
    assert await second.acquire() == []  # all taken: the first must give some back
    for partition in await first.surplus():
        await first.release(partition)
    await second.acquire()
    assert len(first.owned) == len(second.owned) == PARTITIONS // 2
    assert first.owned.isdisjoint(second.owned)
    await first.close()  # a dead worker's connection takes its locks with it
    await second.acquire()
    assert second.owned == set(range(PARTITIONS))


async def test_workers_of_another_database_do_not_count(
    workers: list[PartitionLeases], postgres_url: str
) -> None:
    stranger_url = postgres_url.rsplit("/", 1)[0] + "/test"
    stranger_engine = create_engine(stranger_url)
    stranger = PartitionLeases(stranger_engine, PARTITIONS)
    try:
        await stranger.open()
        await stranger.acquire()
        mine = workers[0]
        await mine.open()
        assert await mine.fair_share() == PARTITIONS
        assert len(await mine.acquire()) == PARTITIONS
    finally:
        await stranger.close()
        await stranger_engine.dispose()
