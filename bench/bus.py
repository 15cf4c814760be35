"""Bus throughput: batches of raw records through publish → consume.

    python bench/bus.py memory [--batches 2000]
    python bench/bus.py jetstream [--url nats://127.0.0.1:4222] [--batches 200]

Batches are built before the clock starts; the figure is records published and handled by
one consumer (the handler only counts) per second of wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence

from opsconductor.bus import codec
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus
from opsconductor.bus.protocol import Delivery
from opsconductor.ids import new_ulid, ulid_block
from opsconductor.messages import RawBatch, RawEvent

LINE = b"<30>Oct 11 22:14:15 ap-office hostapd: wlan0: STA 00:11:22:33:44:55 IEEE 802.11: "
LINE = (LINE * 2)[:120]


def build(batches: int, size: int) -> list[RawBatch]:
    """``batches`` batches of ``size`` records of 120 bytes."""
    return [
        RawBatch(
            id=new_ulid(),
            events=[
                RawEvent(id=i, received_at=time.time(), source="syslog", peer="10.0.0.1", data=LINE)
                for i in ulid_block(size)
            ],
        )
        for _ in range(batches)
    ]


async def run(bus: MemoryBus | JetStreamBus, batches: list[RawBatch]) -> None:
    """Publish every batch and wait until the consumer has handled them all."""
    total = sum(len(b.events) for b in batches)
    seen = 0
    done = asyncio.Event()

    async def count(deliveries: Sequence[Delivery]) -> None:
        nonlocal seen
        for delivery in deliveries:
            assert isinstance(delivery.message, RawBatch)
            seen += len(delivery.message.events)
        if seen >= total:
            done.set()

    await bus.start()
    await bus.consume("raw.>", "bench", count, max_batch=16)
    start = time.perf_counter()
    for batch in batches:
        await bus.publish("raw.syslog", batch, msg_id=batch.id)
    published = time.perf_counter() - start
    await done.wait()
    elapsed = time.perf_counter() - start
    print(
        f"{type(bus).__name__}: {len(batches)} batches x {len(batches[0].events)} records, "
        f"{len(codec.encode(batches[0])) / 1024:.0f} KiB encoded each"
    )
    print(f"  publish only : {len(batches) / published:10.0f} batches/s "
          f"{total / published:12.0f} records/s")  # fmt: skip
    print(f"  end to end   : {len(batches) / elapsed:10.0f} batches/s "
          f"{total / elapsed:12.0f} records/s")  # fmt: skip


async def main() -> None:
    """Parse arguments and run one benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("bus", choices=["memory", "jetstream"])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--batches", type=int, default=0)
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    if args.bus == "memory":
        await run(MemoryBus(queue_max_batches=256), build(args.batches or 2000, args.size))
        return
    bus = JetStreamBus(args.url, prefix=f"bench{uuid.uuid4().hex[:8]}")
    try:
        await run(bus, build(args.batches or 200, args.size))
    finally:
        await bus.delete_streams()
        await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
