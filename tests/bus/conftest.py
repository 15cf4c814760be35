"""Fixtures yielding each bus implementation, so contract tests run against both.

JetStream tests need NATS at ``OPSC_TEST_NATS_URL`` (default ``nats://127.0.0.1:4222``); they
skip when it is unreachable, and fail instead when ``OPSC_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import nats
import nats.js.errors
import pytest
from bus_helpers import JETSTREAM_TEST_OPTIONS, NATS_URL, require_nats, unique_prefix

from opsconductor.bus import subjects
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus, stream_name


@pytest.fixture
async def jetstream_bus() -> AsyncIterator[JetStreamBus]:
    """A started JetStream bus on its own prefix; its streams are deleted afterwards."""
    bus = JetStreamBus(require_nats(), prefix=unique_prefix(), **JETSTREAM_TEST_OPTIONS)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
        await delete_streams(bus.prefix)


async def delete_streams(prefix: str) -> None:
    """Remove the streams (and consumers) a test created under ``prefix``."""
    nc = await nats.connect(NATS_URL)
    try:
        for family in subjects.FAMILIES:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(stream_name(prefix, family))
    finally:
        await nc.close()


@pytest.fixture
async def memory_bus() -> AsyncIterator[MemoryBus]:
    """A started in-process bus with small queues and quick retries."""
    bus = MemoryBus(queue_max_batches=8, max_attempts=3, redelivery_delay=0.1)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture(params=["memory", "jetstream"])
def bus(request: pytest.FixtureRequest) -> MemoryBus | JetStreamBus:
    """Each bus implementation in turn (the contract suite runs against both)."""
    chosen: MemoryBus | JetStreamBus = request.getfixturevalue(f"{request.param}_bus")
    return chosen
