"""The store stage's bus edge: ``events.>``, ``deadletter.>`` and ``status.>`` in, rows out.

One transaction per delivered group of batches; the bus acks only after the commit, and the
writes are idempotent (unique ids), so a redelivery after a crash never duplicates a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import msgspec
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.agents.registry import record_heartbeats
from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.messages import DeadLetter, DeadLetterBatch, Event, EventBatch, Heartbeat
from opsconductor.observability import Metrics
from opsconductor.store import add_dead_letters, add_events, upsert_devices
from opsconductor.store.retention import retention_loop

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
_T = TypeVar("_T")

#: The database is away or not ready (no schema yet): wait and try again, never drop.
_UNAVAILABLE = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ProgrammingError, OSError,
    TimeoutError,
)  # fmt: skip


def _refused(exc: Exception) -> bool:
    """True when the database refused what the rows hold (that row becomes a dead letter).

    asyncpg reports some refusals (a NUL byte in text) as a plain ``DBAPIError``, not a
    ``DataError``: any database error that is not an availability problem counts.
    """
    if isinstance(exc, _UNAVAILABLE):
        return False
    if isinstance(exc, sa_exc.DBAPIError):
        return not exc.connection_invalidated
    return isinstance(exc, ValueError)


EVENTS_DURABLE = subjects.STORE_EVENTS_CONSUMER[1]
DEAD_DURABLE = subjects.STORE_DEADLETTERS_CONSUMER[1]


class StoreStage:
    """Writes events, devices, dead letters and the agents' heartbeats; runs the retention
    job."""

    name = "store"

    def __init__(
        self,
        bus: Bus,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        *,
        retention_days: float,
        retention_interval: float,
        findings_retention_days: float | None = None,
        max_batch: int = 16,
    ) -> None:
        self._bus = bus
        self._sessions = sessions
        self._metrics = metrics
        self._retention = (retention_days, retention_interval)
        self._findings_retention = findings_retention_days
        self._max_batch = max_batch
        self._subscriptions: list[Subscription] = []
        self._retention_task: asyncio.Task[None] | None = None
        self._seconds = metrics.batch_seconds.labels("store")
        self._stopping = False

    async def start(self) -> None:
        """Subscribe and start the retention job."""
        self._subscriptions = [
            await self._bus.consume(
                f"{subjects.EVENTS}.>",
                EVENTS_DURABLE,
                self.handle_events,
                max_batch=self._max_batch,
            ),
            await self._bus.consume(
                f"{subjects.DEADLETTER}.>",
                DEAD_DURABLE,
                self.handle_dead_letters,
                max_batch=self._max_batch,
            ),
            await self._bus.consume(*subjects.STORE_STATUS_CONSUMER, self.handle_heartbeats),
        ]
        days, interval = self._retention
        self._retention_task = asyncio.create_task(
            retention_loop(self._sessions, days, interval, self._findings_retention),
            name="retention",
        )

    async def stop(self) -> None:
        """Stop consuming after the batch in hand and stop the retention job."""
        self._stopping = True
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()
        if self._retention_task is not None:
            self._retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention_task
            self._retention_task = None

    async def handle_events(self, deliveries: Sequence[Delivery]) -> None:
        """Write the events of every delivered batch in one transaction."""
        started = time.perf_counter()
        events: list[Event] = []
        for delivery in deliveries:
            if isinstance(delivery.message, EventBatch):
                events.extend(delivery.message.events)
        if not events:
            return
        inserted = await self._write_or_split(events)
        self._metrics.stored.inc(inserted)
        self._seconds.observe(time.perf_counter() - started)
        self._metrics.observe_lag(self.name, events[-1].received_at)

    async def handle_dead_letters(self, deliveries: Sequence[Delivery]) -> None:
        """Write dead letters in one transaction."""
        letters: list[DeadLetter] = []
        for delivery in deliveries:
            if isinstance(delivery.message, DeadLetterBatch):
                letters.extend(delivery.message.letters)
        if letters:
            await self._with_retry(self._write_dead_letters, letters)

    async def handle_heartbeats(self, deliveries: Sequence[Delivery]) -> None:
        """Record the agents' heartbeats as their status and ``last_seen``."""
        beats = [d.message for d in deliveries if isinstance(d.message, Heartbeat)]
        if any(beat.kind == "agent" for beat in beats):
            await self._with_retry(record_heartbeats, beats)

    async def _write_or_split(self, events: list[Event]) -> int:
        """Write ``events``; if the database refuses what some of them hold, find those.

        The group is halved until the refused events stand alone; only they become dead
        letters, every other event of the group is stored.
        """
        try:
            return await self._with_retry(self._write_events, events)
        except Exception as exc:
            if self._stopping or not _refused(exc):
                raise
            if len(events) == 1:
                await self._dead_letter_events(events, exc)
                return 0
        middle = len(events) // 2
        return await self._write_or_split(events[:middle]) + await self._write_or_split(
            events[middle:]
        )

    async def _write_events(self, session: AsyncSession, events: list[Event]) -> int:
        await upsert_devices(session, events)
        return await add_events(session, events)

    async def _write_dead_letters(self, session: AsyncSession, letters: list[DeadLetter]) -> int:
        return await add_dead_letters(session, letters)

    async def _with_retry(
        self, write: Callable[[AsyncSession, _T], Awaitable[int]], rows: _T
    ) -> int:
        """Run ``write`` in a transaction, retrying while the database is unreachable.

        Accepted records are never dropped because the database is away: the batch stays in
        hand (and the queues behind it fill, which is the backpressure) until it is written.
        """
        delay = 0.2
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    return await write(session, rows)
            except _UNAVAILABLE as exc:
                if self._stopping:
                    raise
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _dead_letter_events(self, events: list[Event], exc: Exception) -> None:
        """Events the database refuses for what they hold are kept as dead letters."""
        log.error(
            "the database refused %d events (%s); keeping them as dead letters", len(events), exc
        )
        cause = getattr(exc, "orig", None) or exc  # never the SQL text: it holds other rows
        first_line = str(cause).splitlines()[0] if str(cause) else ""
        reason = f"store refused: {type(cause).__name__}: {first_line}"[:500].replace("\x00", "?")
        letters = [
            DeadLetter(e.id, e.received_at, e.source, e.peer, reason, _encode(e), stage="store")
            for e in events
        ]
        await self._with_retry(self._write_dead_letters, letters)
        self._metrics.dead_lettered.labels("store").inc(len(letters))
