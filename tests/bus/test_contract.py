"""The bus contract, run against the in-process bus and JetStream alike (fixture ``bus``)."""

from __future__ import annotations

import asyncio

import pytest
from bus_helpers import Collector, event_batch, eventually, raw_batch

from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus
from opsconductor.errors import BusError
from opsconductor.messages import EventBatch, RawBatch

AnyBus = MemoryBus | JetStreamBus


async def test_raw_batch_round_trip(bus: AnyBus) -> None:
    got = Collector()
    await bus.consume("raw.>", "parse", got)
    batch = raw_batch(5)
    await bus.publish("raw.syslog", batch, msg_id=batch.id)
    [delivery] = await got.wait_for(1)
    assert delivery.subject == "raw.syslog"
    assert delivery.message == batch
    assert not delivery.redelivered
    assert bus.counters.published == 1


async def test_event_batch_round_trip(bus: AnyBus) -> None:
    got = Collector()
    await bus.consume("events.>", "store", got)
    batch = event_batch(3, domain="wireless")
    await bus.publish("events.wireless", batch, msg_id=batch.id)
    [delivery] = await got.wait_for(1)
    assert (delivery.subject, delivery.message) == ("events.wireless", batch)


async def test_wildcard_filters(bus: AnyBus) -> None:
    events, raw = Collector(), Collector()
    await bus.consume("events.>", "agents", events)
    await bus.consume("raw.*", "raw-watcher", raw)
    published: dict[str, RawBatch | EventBatch] = {
        "raw.syslog": raw_batch(),
        "raw.http": raw_batch(),
        "raw.syslog.extra": raw_batch(),  # two tokens after raw: not matched by raw.*
        "events.wireless": event_batch(),
        "events.wireless.p7": event_batch(),  # partitioned subject: matched by events.>
    }
    for subject, message in published.items():
        await bus.publish(subject, message, msg_id=message.id)
    await events.wait_for(2)
    await raw.wait_for(2)
    await asyncio.sleep(0.3)  # nothing else arrives
    assert sorted(d.subject for d in raw.deliveries) == ["raw.http", "raw.syslog"]
    assert sorted(d.subject for d in events.deliveries) == ["events.wireless", "events.wireless.p7"]


async def test_different_durables_each_get_every_message(bus: AnyBus) -> None:
    first, second = Collector(), Collector()
    await bus.consume("raw.>", "archive", first)
    await bus.consume("raw.>", "parse", second)
    batches = [raw_batch(1) for _ in range(10)]
    for batch in batches:
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await first.wait_for(10)
    await second.wait_for(10)
    assert first.ids == second.ids == [b.id for b in batches]


async def test_same_durable_splits_the_work(bus: AnyBus) -> None:
    first, second = Collector(delay=0.02), Collector(delay=0.02)
    await bus.consume("raw.>", "parse", first, max_batch=1)
    await bus.consume("raw.>", "parse", second, max_batch=1)
    batches = [raw_batch(1) for _ in range(20)]
    for batch in batches:
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await eventually(lambda: len(first.deliveries) + len(second.deliveries) >= 20)
    await asyncio.sleep(0.3)
    assert sorted(first.ids + second.ids) == sorted(b.id for b in batches)  # each exactly once
    assert first.deliveries and second.deliveries


async def test_msg_id_deduplicates(bus: AnyBus) -> None:
    got = Collector()
    await bus.consume("raw.>", "parse", got)
    original = raw_batch(1)
    await bus.publish("raw.syslog", original, msg_id=original.id)
    await bus.publish("raw.syslog", raw_batch(2), msg_id=original.id)  # same id, new body
    later = raw_batch(1)
    await bus.publish("raw.syslog", later, msg_id=later.id)
    await got.wait_for(2)
    await asyncio.sleep(0.3)
    assert got.ids == [original.id, later.id]
    assert bus.counters.duplicates == 1
    assert bus.counters.published == 2


async def test_handler_failure_redelivers(bus: AnyBus) -> None:
    got = Collector(fail_times=1)
    await bus.consume("raw.>", "parse", got)
    batch = raw_batch(2)
    await bus.publish("raw.syslog", batch, msg_id=batch.id)
    [delivery] = await got.wait_for(1)
    assert delivery.message == batch
    assert delivery.redelivered
    assert got.calls == 2
    assert bus.counters.redelivered == 1


async def test_poison_after_max_attempts_then_consumer_goes_on(bus: AnyBus) -> None:
    got = Collector(fail_times=3)  # the fixtures allow 3 attempts
    await bus.consume("raw.>", "parse", got)
    poison, good = raw_batch(1), raw_batch(1)
    await bus.publish("raw.syslog", poison, msg_id=poison.id)
    await eventually(lambda: bus.counters.poison == 1)
    await bus.publish("raw.syslog", good, msg_id=good.id)
    await got.wait_for(1)
    assert got.ids == [good.id]
    assert got.calls == 4
    assert bus.counters.redelivered == 2


async def test_ack_only_after_the_handler_returns(bus: AnyBus) -> None:
    holder = Collector()
    holder.release.clear()
    await bus.consume("raw.>", "parse", holder)
    batch = raw_batch(1)
    await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await asyncio.wait_for(holder.entered.wait(), 10)
    # While the handler runs, the message is still pending for the durable...
    await eventually(lambda: _pending(bus, "parse", lambda n: n == 1))
    # ...and a competing consumer of the same durable does not get it.
    rival = Collector()
    await bus.consume("raw.>", "parse", rival)
    await asyncio.sleep(0.5)
    assert rival.deliveries == []
    holder.release.set()
    await holder.wait_for(1)
    await eventually(lambda: _pending(bus, "parse", lambda n: n == 0))
    await asyncio.sleep(0.3)
    assert rival.deliveries == []


async def _pending(bus: AnyBus, durable: str, check: object) -> bool:
    assert callable(check)
    return bool(check((await bus.refresh_pending()).get(durable, 0)))


async def test_order_within_a_subject_for_one_consumer(bus: AnyBus) -> None:
    got = Collector()
    await bus.consume("raw.>", "parse", got, max_batch=7)
    batches = [raw_batch(1) for _ in range(50)]
    for batch in batches:
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await got.wait_for(50)
    assert got.ids == [b.id for b in batches]


async def test_stop_finishes_the_batch_in_hand(bus: AnyBus) -> None:
    holder = Collector()
    holder.release.clear()
    subscription = await bus.consume("raw.>", "parse", holder)
    batch = raw_batch(1)
    await bus.publish("raw.syslog", batch, msg_id=batch.id)
    await asyncio.wait_for(holder.entered.wait(), 10)
    stopping = asyncio.create_task(subscription.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # waits for the handler
    holder.release.set()
    await asyncio.wait_for(stopping, 10)
    assert holder.ids == [batch.id]
    await eventually(lambda: _pending(bus, "parse", lambda n: n == 0))


async def test_try_publish_accepts_when_there_is_room(bus: AnyBus) -> None:
    got = Collector()
    await bus.consume("raw.>", "parse", got)
    batch = raw_batch(1)
    assert bus.try_publish("raw.syslog", batch, msg_id=batch.id)
    await got.wait_for(1)
    assert got.ids == [batch.id]


@pytest.mark.parametrize("subject", ["raw", "raw.*", "raw.>", "nope.x", "raw..x", ""])
async def test_bad_subjects_are_refused(bus: AnyBus, subject: str) -> None:
    batch = raw_batch(1)
    with pytest.raises(BusError):
        await bus.publish(subject, batch, msg_id=batch.id)


@pytest.mark.parametrize(
    ("subject_filter", "durable"),
    [(">", "d"), ("*.x", "d"), ("nope.>", "d"), ("raw.>.x", "d"), ("raw.>", "a.b"), ("raw.>", "")],
)
async def test_bad_filters_and_durables_are_refused(
    bus: AnyBus, subject_filter: str, durable: str
) -> None:
    with pytest.raises(BusError):
        await bus.consume(subject_filter, durable, Collector())


async def test_one_durable_one_filter(bus: AnyBus) -> None:
    await bus.consume("raw.syslog", "syslog-only", Collector())
    with pytest.raises(BusError):
        await bus.consume("raw.http", "syslog-only", Collector())


async def test_healthy(bus: AnyBus) -> None:
    assert await bus.healthy()
    await bus.close()
    assert not await bus.healthy()
