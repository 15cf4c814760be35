"""Measure the store's hot path: events/s through ``upsert_devices`` + ``add_events`` + commit.

    python bench/store_insert.py --db sqlite --batches 100
    python bench/store_insert.py --db postgres --batches 100 --drop-index ix_events_message_trgm

Each run uses a fresh database (a temp file, or ``opsc_bench_<random>`` on the PostgreSQL at
``--pg``), migrated to head, and one transaction per batch as the store stage does.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from opsconductor.ids import ulid_block
from opsconductor.inventory.identity import device_id
from opsconductor.messages import Event
from opsconductor.store import add_events, create_engine, session_factory, upgrade, upsert_devices

WORDS = (
    "link",
    "up",
    "down",
    "wlan0",
    "eth0",
    "dhcp",
    "lease",
    "assoc",
    "deauth",
    "drop",
    "br-lan",
)


def make_batch(size: int, now: float, devices: int) -> list[Event]:
    """``size`` realistic events from ``devices`` devices."""
    rng = random.Random()
    out = []
    for i, event_id in enumerate(ulid_block(size, now)):
        n = rng.randrange(devices)
        host, address = f"ap-{n}", f"10.0.{n // 256}.{n % 256}"
        out.append(
            Event(
                id=event_id, received_at=now, timestamp=now + i * 1e-4, source="syslog-udp",
                peer=f"{address}:514", device_id=device_id(address, host), host=host,
                facility=3, severity=rng.randrange(8), program=rng.choice(["hostapd", "kernel"]),
                procid="1234", msgid="", message=" ".join(rng.choices(WORDS, k=14)),
                structured_data={}, extra={"iface": "wlan0"} if i % 4 == 0 else {},
                format="rfc3164", parse_status="ok", domain=rng.choice(["wifi", "network"]),
            )
        )  # fmt: skip
    return out


async def run(url: str, batches: int, size: int, drop: list[str]) -> None:
    """Insert ``batches`` batches and print the rates."""
    await upgrade(url)
    engine = create_engine(url)
    factory = session_factory(engine)
    async with engine.begin() as conn:
        for name in drop:
            await conn.exec_driver_sql(f"DROP INDEX {name}")
    prepared = [make_batch(size, time.time() + b, 200) for b in range(batches)]
    spent = 0.0
    for batch in prepared:
        started = time.perf_counter()
        async with factory() as session, session.begin():
            await upsert_devices(session, batch)
            await add_events(session, batch)
        spent += time.perf_counter() - started
    total = batches * size
    kind = url.split(":", maxsplit=1)[0]
    print(f"{kind}: {total} events in {spent:.2f}s = {total / spent:,.0f} events/s")
    again = time.perf_counter()
    async with factory() as session, session.begin():
        assert await add_events(session, prepared[0]) == 0
    print(f"  re-insert of one batch (all conflicts): {time.perf_counter() - again:.4f}s")
    await engine.dispose()


async def main() -> None:
    """Parse arguments, make a fresh database, run, clean up."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--drop-index", action="append", default=[])
    args = parser.parse_args()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            await run(url, args.batches, args.size, args.drop_index)
        return
    name = f"opsc_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{args.pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(f"{args.pg}/{name}", args.batches, args.size, args.drop_index)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
