"""Listeners (``consume(..., listener=True)``) on both buses: a process's own ear on a family,
starting at new messages and forgotten when it stops."""

from __future__ import annotations

import asyncio

from bus_helpers import Collector, event_batch

from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus
from opsconductor.ids import new_ulid

AnyBus = MemoryBus | JetStreamBus


async def test_a_listener_hears_only_what_is_published_after_it_started(bus: AnyBus) -> None:
    await bus.consume("events.>", "store-events", Collector())  # keeps earlier ones around
    before = event_batch()
    await bus.publish("events.wireless", before, msg_id=before.id)
    heard = Collector()
    await bus.consume("events.>", f"live-{new_ulid()}", heard, listener=True)
    after = event_batch()
    await bus.publish("events.wireless", after, msg_id=after.id)
    [delivery] = await heard.wait_for(1)
    assert delivery.message == after
    await asyncio.sleep(0.3)
    assert len(heard.deliveries) == 1


async def test_a_stopped_listener_never_holds_publishers_back(memory_bus: MemoryBus) -> None:
    durable = f"live-{new_ulid()}"
    subscription = await memory_bus.consume("events.>", durable, Collector(), listener=True)
    await subscription.stop()
    assert durable not in memory_bus.pending()
    for _ in range(20):  # more than the queue bound of the fixture's bus
        batch = event_batch()
        await asyncio.wait_for(memory_bus.publish("events.wireless", batch, msg_id=batch.id), 1)
