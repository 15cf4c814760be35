"""The store stage's bus edge: ``events.>`` and ``deadletter.>`` in, rows out.

One transaction per delivered group of batches; the bus acks only after the commit, and the
writes are idempotent (unique ids), so a redelivery after a crash never duplicates a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.messages import DeadLetter, DeadLetterBatch, Event, EventBatch
from opsconductor.observability import Metrics
from opsconductor.store import add_dead_letters, add_events, upsert_devices
from opsconductor.store.retention import retention_loop

EVENTS_DURABLE = "store-events"
DEAD_DURABLE = "store-deadletters"


class StoreStage:
    """Writes events, devices and dead letters; runs the retention job."""

    name = "store"

    def __init__(
        self,
        bus: Bus,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        *,
        retention_days: float,
        retention_interval: float,
        max_batch: int = 16,
    ) -> None:
        self._bus = bus
        self._sessions = sessions
        self._metrics = metrics
        self._retention = (retention_days, retention_interval)
        self._max_batch = max_batch
        self._subscriptions: list[Subscription] = []
        self._retention_task: asyncio.Task[None] | None = None
        self._seconds = metrics.batch_seconds.labels("store")

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
        ]
        days, interval = self._retention
        self._retention_task = asyncio.create_task(
            retention_loop(self._sessions, days, interval), name="retention"
        )

    async def stop(self) -> None:
        """Stop consuming after the batch in hand and stop the retention job."""
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
        async with self._sessions() as session, session.begin():
            await upsert_devices(session, events)
            inserted = await add_events(session, events)
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
            async with self._sessions() as session, session.begin():
                await add_dead_letters(session, letters)
