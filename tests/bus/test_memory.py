"""Behaviour only the in-process bus has: waiting publishers, bounded dedup, close."""

from __future__ import annotations

import asyncio

import pytest
from bus_helpers import Collector, raw_batch

from opsconductor.bus.memory import MemoryBus
from opsconductor.errors import BusError


async def test_publish_waits_and_try_publish_refuses_when_a_queue_is_full() -> None:
    bus = MemoryBus(queue_max_batches=2)
    holder = Collector()
    holder.release.clear()
    await bus.consume("raw.>", "parse", holder, max_batch=1)
    first, second, third, fourth = (raw_batch(1) for _ in range(4))
    await bus.publish("raw.syslog", first, msg_id=first.id)
    await asyncio.wait_for(holder.entered.wait(), 5)  # in the handler's hands
    await bus.publish("raw.syslog", second, msg_id=second.id)
    await bus.publish("raw.syslog", third, msg_id=third.id)  # queue now full (2)
    assert not bus.try_publish("raw.syslog", fourth, msg_id=fourth.id)
    assert bus.counters.rejected == 1
    waiting = asyncio.create_task(bus.publish("raw.syslog", fourth, msg_id=fourth.id))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    assert bus.pending() == {"parse": 3}
    holder.release.set()
    await asyncio.wait_for(waiting, 5)
    await holder.wait_for(4)
    assert holder.ids == [first.id, second.id, third.id, fourth.id]
    await bus.close()


async def test_a_full_queue_blocks_only_its_own_subjects() -> None:
    bus = MemoryBus(queue_max_batches=1)
    holder = Collector()
    holder.release.clear()
    await bus.consume("raw.syslog", "slow", holder, max_batch=1)
    await bus.consume("raw.http", "fast", Collector())
    for _ in range(2):
        batch = raw_batch(1)
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    batch = raw_batch(1)
    assert not bus.try_publish("raw.syslog", batch, msg_id=batch.id)
    assert bus.try_publish("raw.http", batch, msg_id=batch.id)
    holder.release.set()
    await bus.close()


async def test_unrouted_messages_are_dropped_without_waiting() -> None:
    bus = MemoryBus(queue_max_batches=1)
    for _ in range(5):
        batch = raw_batch(1)
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    assert bus.counters.published == 5
    assert bus.pending() == {}


async def test_dedup_memory_is_capped_by_count_and_age() -> None:
    bus = MemoryBus(dedup_max_ids=2, dedup_window=0.2)
    got = Collector()
    await bus.consume("raw.>", "parse", got)
    a, b, c = raw_batch(1), raw_batch(1), raw_batch(1)
    for batch in (a, b, c, a):  # a was evicted by c: delivered again
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await bus.publish("raw.syslog", c, msg_id=c.id)  # still remembered
    await asyncio.sleep(0.25)
    await bus.publish("raw.syslog", c, msg_id=c.id)  # expired: delivered again
    await got.wait_for(5)
    assert got.ids == [a.id, b.id, c.id, a.id, c.id]
    await bus.close()


async def test_close_wakes_waiting_publishers_and_refuses_new_work() -> None:
    bus = MemoryBus(queue_max_batches=1)
    holder = Collector()
    holder.release.clear()
    await bus.consume("raw.>", "parse", holder, max_batch=1)
    for _ in range(2):
        batch = raw_batch(1)
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await asyncio.wait_for(holder.entered.wait(), 5)
    blocked = raw_batch(1)
    waiting = asyncio.create_task(bus.publish("raw.syslog", blocked, msg_id=blocked.id))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(bus.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # the handler in hand finishes first
    holder.release.set()
    await asyncio.wait_for(closing, 5)
    assert len(holder.deliveries) == 1  # the queued one is left (and logged), not handled
    with pytest.raises(BusError):
        await waiting
    with pytest.raises(BusError):
        await bus.consume("raw.>", "other", Collector())
    with pytest.raises(BusError):
        bus.try_publish("raw.syslog", blocked, msg_id="x")


async def test_a_failed_batch_does_not_hold_up_the_next_ones() -> None:
    bus = MemoryBus(redelivery_delay=0.2)
    got = Collector(fail_times=1)
    got.release.clear()
    await bus.consume("raw.>", "parse", got, max_batch=2)
    batches = [raw_batch(1) for _ in range(4)]
    for batch in batches:
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    got.release.set()
    await got.wait_for(4)
    ids = [b.id for b in batches]
    assert got.ids == ids[2:] + ids[:2]  # the retry waits its delay; the rest go on
    assert [d.redelivered for d in got.deliveries] == [False, False, True, True]
    assert bus.pending() == {"parse": 0}
    await bus.close()


async def test_messages_are_passed_as_they_are() -> None:
    bus = MemoryBus()
    got = Collector()
    await bus.consume("raw.>", "parse", got)
    batch = raw_batch(1)
    await bus.publish("raw.syslog", batch, msg_id=batch.id)
    [delivery] = await got.wait_for(1)
    assert delivery.message is batch  # no serialization on the hot path
    await bus.close()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryBus(queue_max_batches=0)
