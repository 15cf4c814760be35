"""Behaviour only the JetStream bus has: streams, crash redelivery, bad bytes, wire prefix."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

import nats
import pytest
from bus_helpers import (
    JETSTREAM_TEST_OPTIONS,
    NATS_URL,
    Collector,
    eventually,
    raw_batch,
    require_nats,
    unique_prefix,
)
from nats.aio.msg import Msg

from opsconductor.bus import subjects
from opsconductor.bus.nats import (
    BROADCAST_FAMILIES,
    DUPLICATE_WINDOW,
    STREAM_LIMITS,
    JetStreamBus,
    StreamLimits,
    stream_name,
)
from opsconductor.errors import BusError

CRASHING_CONSUMER = textwrap.dedent(
    """
    import asyncio, sys
    from opsconductor.bus.nats import JetStreamBus

    async def main(url, prefix):
        bus = JetStreamBus(url, prefix=prefix, ack_wait=2.0, fetch_timeout=0.5)
        await bus.start()

        async def hold(batch):
            print("HOLDING", len(batch), flush=True)
            await asyncio.sleep(3600)

        await bus.consume("raw.>", "parse", hold, max_batch=10)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_streams_per_family_with_prefixed_subjects(jetstream_bus: JetStreamBus) -> None:
    prefix = jetstream_bus.prefix
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for family in subjects.FAMILIES:
            info = await js.stream_info(stream_name(prefix, family))
            assert info.config.name == f"{prefix}_{family}".upper()
            assert info.config.subjects == [f"{prefix}.{family}.>"]
            assert info.config.duplicate_window == DUPLICATE_WINDOW
            assert info.config.storage == "file"
            broadcast = family in BROADCAST_FAMILIES
            assert info.config.retention == ("limits" if broadcast else "interest")
            assert info.config.discard == ("old" if broadcast else "new")
            assert info.config.max_age == STREAM_LIMITS[family].max_age
    finally:
        await nc.close()
    await jetstream_bus.ensure_streams()  # idempotent


async def test_messages_travel_under_the_prefix(jetstream_bus: JetStreamBus) -> None:
    nc = await nats.connect(NATS_URL)
    seen: list[str] = []

    async def record(msg: Msg) -> None:
        seen.append(msg.subject)

    await nc.subscribe(f"{jetstream_bus.prefix}.>", cb=record)
    await nc.flush()  # the server knows the subscription before anything is published
    batch = raw_batch(1)
    await jetstream_bus.publish("raw.syslog", batch, msg_id=batch.id)
    await eventually(lambda: seen)
    assert seen == [f"{jetstream_bus.prefix}.raw.syslog"]
    await nc.close()


async def test_a_sigkilled_consumer_s_batch_goes_to_the_next_one(
    jetstream_bus: JetStreamBus,
) -> None:
    batches = [raw_batch(2) for _ in range(5)]
    for batch in batches:
        await jetstream_bus.publish("raw.syslog", batch, msg_id=batch.id)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_CONSUMER, NATS_URL, jetstream_bus.prefix,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 20)
        assert line.strip() == b"HOLDING 5"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    successor = Collector()
    await jetstream_bus.consume("raw.>", "parse", successor, max_batch=10)
    await successor.wait_for(5, timeout=15)  # ack_wait is 2 s
    assert sorted(successor.ids) == sorted(b.id for b in batches)
    assert all(d.redelivered for d in successor.deliveries)
    await eventually(lambda: _pending_is_zero(jetstream_bus))


async def _pending_is_zero(bus: JetStreamBus) -> bool:
    return (await bus.refresh_pending()).get("parse") == 0


async def test_undecodable_bytes_are_poison_not_a_loop(jetstream_bus: JetStreamBus) -> None:
    got = Collector()
    await jetstream_bus.consume("raw.>", "parse", got)
    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().publish(f"{jetstream_bus.prefix}.raw.syslog", b"\xc1 not msgpack")
    finally:
        await nc.close()
    good = raw_batch(1)
    await jetstream_bus.publish("raw.syslog", good, msg_id=good.id)
    await got.wait_for(1)
    assert got.ids == [good.id]
    assert jetstream_bus.counters.poison == 1
    await eventually(lambda: _pending_is_zero(jetstream_bus))


async def test_a_message_over_the_server_payload_limit_is_a_bus_error(
    jetstream_bus: JetStreamBus,
) -> None:
    huge = raw_batch(2000, size=1000)  # ~2 MB encoded, over the 1 MiB default max_payload
    with pytest.raises(BusError, match=r"publish on 'raw\.syslog' failed"):
        await jetstream_bus.publish("raw.syslog", huge, msg_id=huge.id)


async def test_try_publish_bounds_sends_in_flight() -> None:
    bus = JetStreamBus(
        require_nats(), prefix="unused", max_inflight_publishes=0, **JETSTREAM_TEST_OPTIONS
    )
    with pytest.raises(BusError):
        await bus.publish("raw.syslog", raw_batch(1), msg_id="x")  # not started
    assert not bus.try_publish("raw.syslog", raw_batch(1), msg_id="x")
    assert bus.counters.rejected == 1


async def test_unreachable_server_is_a_bus_error() -> None:
    bus = JetStreamBus("nats://127.0.0.1:1", connect_timeout=1.0)
    with pytest.raises(BusError, match="cannot start"):
        await bus.start()
    assert not await bus.healthy()


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        JetStreamBus(NATS_URL, prefix="a.b")


async def test_records_wait_for_a_stage_that_never_ran(jetstream_bus: JetStreamBus) -> None:
    """The stages' durables are declared with the streams: nothing published before the
    parse stage first starts is lost."""
    early = raw_batch(3)
    await jetstream_bus.publish("raw.syslog", early, msg_id=early.id)
    got = Collector()
    await jetstream_bus.consume(*subjects.PARSE_CONSUMER, got)
    await got.wait_for(1)
    assert got.deliveries[0].message == early


async def test_a_full_stream_refuses_new_records() -> None:
    """When the consumers fall behind by the stream's size, publishing fails (backpressure)
    instead of discarding records already accepted."""
    prefix = unique_prefix()
    tiny = {subjects.RAW: StreamLimits(3600.0, 64 * 1024)}
    bus = JetStreamBus(require_nats(), prefix=prefix, stream_limits=tiny,
                       **JETSTREAM_TEST_OPTIONS)  # fmt: skip
    await bus.start()
    try:
        with pytest.raises(BusError):
            for _ in range(100):
                batch = raw_batch(20)
                await bus.publish("raw.syslog", batch, msg_id=batch.id)
    finally:
        await bus.delete_streams()
        await bus.close()
