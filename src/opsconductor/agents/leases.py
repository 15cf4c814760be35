"""Which agent partitions this worker owns: PostgreSQL session advisory locks.

Each worker holds one *member* lock (so workers can count each other) and one lock per
partition it owns. A worker aims at its fair share, ``ceil(partitions / members)``: it takes
free partitions while it holds fewer and gives back its last ones while it holds more. The
locks belong to the worker's own database connection, so when a worker dies — even by
SIGKILL — the server drops the connection and with it every lock, and the survivors take the
partitions over at their next rebalance. A partition is released only after its state was
saved (see ``consumer.PartitionRunner.stop``), so the next owner continues from it.
"""

from __future__ import annotations

import math
import os

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

MEMBER_NAMESPACE = 0x4F50
"""Advisory-lock class id of the member locks (one per running worker)."""
PARTITION_NAMESPACE = 0x4F51
"""Advisory-lock class id of the partition locks (object id = partition number)."""

# pg_locks shows the whole server; advisory locks are per database, and so are members.
_COUNT_MEMBERS = sa.text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND classid = :ns AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_TRY_LOCK = sa.text("SELECT pg_try_advisory_lock(:ns, :key)")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:ns, :key)")


class PartitionLeases:
    """The partitions one worker holds, balanced against the other live workers."""

    def __init__(self, engine: AsyncEngine, partitions: int) -> None:
        # A connection of its own that really closes (no pool): closing it frees the locks.
        self._engine = create_async_engine(
            engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self.partitions = partitions
        self.member = int.from_bytes(os.urandom(4), "big") >> 1
        self.owned: set[int] = set()
        self._conn: AsyncConnection | None = None

    async def open(self) -> None:
        """Connect and register as a member."""
        self._conn = await self._engine.connect()
        await self._try_lock(MEMBER_NAMESPACE, self.member)

    async def close(self) -> None:
        """Drop the connection: every lock of this worker is released with it."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        self.owned.clear()
        await self._engine.dispose()

    async def fair_share(self) -> int:
        """``ceil(partitions / live workers)``."""
        conn = self._connection()
        members = (await conn.execute(_COUNT_MEMBERS, {"ns": MEMBER_NAMESPACE})).scalar_one()
        return math.ceil(self.partitions / max(1, int(members)))

    async def surplus(self) -> list[int]:
        """Owned partitions beyond the fair share (the caller stops them, then ``release``)."""
        extra = len(self.owned) - await self.fair_share()
        return sorted(self.owned, reverse=True)[: max(0, extra)]

    async def acquire(self) -> list[int]:
        """Take free partitions up to the fair share; returns the ones taken now."""
        share = await self.fair_share()
        taken: list[int] = []
        start = self.member % self.partitions
        for offset in range(self.partitions):
            if len(self.owned) >= share:
                break
            partition = (start + offset) % self.partitions
            if partition in self.owned:
                continue
            if await self._try_lock(PARTITION_NAMESPACE, partition):
                self.owned.add(partition)
                taken.append(partition)
        return taken

    async def release(self, partition: int) -> None:
        """Give one partition back."""
        if partition in self.owned:
            await self._connection().execute(_UNLOCK, {"ns": PARTITION_NAMESPACE, "key": partition})
            self.owned.discard(partition)

    async def _try_lock(self, namespace: int, key: int) -> bool:
        conn = self._connection()
        result = await conn.execute(_TRY_LOCK, {"ns": namespace, "key": key})
        return bool(result.scalar_one())

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("partition leases are not open")
        return self._conn
