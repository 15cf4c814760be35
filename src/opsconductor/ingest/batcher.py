"""Turns records arriving one by one into ``RawBatch`` messages on ``raw.<source>``.

Records wait at most ``max_delay`` seconds for a batch to fill. Full batches queue for the
publisher task in a bounded queue; that bound is where overload shows:

* ``offer`` (datagram receivers) never waits — when the queue is full the record is dropped
  and counted (``opsc_records_dropped{reason="overload"}``);
* ``put`` (stream receivers) waits for room, so a TCP sender feels backpressure;
* ``saturated`` lets the HTTP API answer 503 before it accepts a body it cannot queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from opsconductor import ids
from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus
from opsconductor.errors import BusError
from opsconductor.messages import DeadLetter, DeadLetterBatch, RawBatch, RawEvent
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)

Pending = tuple[float, str, bytes]

#: Encoded size of a record's envelope beyond its data (id, times, source, peer; and after
#: parsing the event's fields), so a batch of short records cannot outgrow ``max_bytes``.
RECORD_OVERHEAD_BYTES = 200


class RecordBatcher:
    """Batches raw records of one source and publishes them in order.

    A batch closes at ``max_events`` records or ``max_bytes`` of encoded size (record data
    plus a fixed allowance per record for its envelope), whichever comes first: JetStream
    refuses messages over its ``max_payload``, 1 MiB by default. A record longer than
    ``max_record_bytes`` is cut to one byte over that limit, so the parser still dead-letters
    it as over-long but it can never make a batch too large.
    """

    def __init__(
        self,
        bus: Bus,
        source: str,
        metrics: Metrics,
        *,
        max_events: int = 2000,
        max_bytes: int = 512 * 1024,
        max_delay: float = 0.05,
        max_queued_batches: int = 64,
        max_record_bytes: int = 65536,
        subject: str | None = None,
    ) -> None:
        self._bus = bus
        self.source = source
        self._subject = subject or subjects.raw(source.split("-", 1)[0])
        self._metrics = metrics
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._max_record = max_record_bytes + 1
        self._max_delay = max_delay
        self._pending: list[Pending] = []
        self._pending_bytes = 0
        self._queue: asyncio.Queue[list[Pending]] = asyncio.Queue(max_queued_batches)
        self._dropped = metrics.dropped.labels(source, "overload")
        self._received = metrics.received.labels(source)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the publisher and the flush timer."""
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name=f"batcher-{self.source}"),
            asyncio.create_task(self._flush_timer(), name=f"batcher-timer-{self.source}"),
        ]
        for task in self._tasks:
            task.add_done_callback(_report_crash)

    async def stop(self, timeout: float = 30.0) -> None:
        """Publish what is pending (for at most ``timeout`` seconds), then stop."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            log.error(
                "%s: %d batches could not be published before shutdown",
                self.source,
                self._queue.qsize(),
            )
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def saturated(self) -> bool:
        """True when no further batch fits in the queue."""
        return self._queue.full()

    def _full(self) -> bool:
        return len(self._pending) >= self._max_events or self._pending_bytes >= self._max_bytes

    def offer(self, data: bytes, peer: str, received_at: float) -> bool:
        """Add a record without waiting; False (and counted) when overloaded."""
        if self._full():
            if self._queue.full():
                self._dropped.inc()
                return False
            self._queue.put_nowait(self._take())
        self._append(data, peer, received_at)
        return True

    async def put(self, data: bytes, peer: str, received_at: float) -> None:
        """Add a record, waiting for room when the queue is full (backpressure)."""
        if self._full():
            await self._queue.put(self._take())
        self._append(data, peer, received_at)

    async def put_many(self, records: list[bytes], peer: str, received_at: float) -> None:
        """Add several records from one sender, waiting for room as needed."""
        for data in records:
            if self._full():
                await self._queue.put(self._take())
            self._append(data, peer, received_at)

    def _append(self, data: bytes, peer: str, received_at: float) -> None:
        if len(data) > self._max_record:
            data = data[: self._max_record]
        self._pending.append((received_at, peer, data))
        self._pending_bytes += len(data) + RECORD_OVERHEAD_BYTES

    async def flush(self) -> None:
        """Queue the partial batch now, waiting for room if needed."""
        if self._pending:
            await self._queue.put(self._take())

    async def drain(self) -> None:
        """Wait until everything handed in so far is published."""
        await self.flush()
        await self._queue.join()

    def _take(self) -> list[Pending]:
        taken, self._pending = self._pending, []
        self._pending_bytes = 0
        return taken

    def _flush_nowait(self) -> None:
        if self._pending and not self._queue.full():
            self._queue.put_nowait(self._take())

    async def _flush_timer(self) -> None:
        while True:
            await asyncio.sleep(self._max_delay)
            self._flush_nowait()

    async def _publish_loop(self) -> None:
        while True:
            pending = await self._queue.get()
            try:
                await self._publish(self._build(pending))
            finally:
                self._queue.task_done()

    def _build(self, pending: list[Pending]) -> RawBatch:
        return build_raw_batch(self.source, pending)

    async def _publish(self, batch: RawBatch) -> None:
        """Publish, retrying with backoff: the batch keeps its id, so a retry never duplicates."""
        delay = 0.1
        while True:
            try:
                await self._bus.publish(self._subject, batch, msg_id=batch.id)
            except Exception:  # BusError, or a bug: never lose the batch, never die
                log.warning(
                    "publishing %d %s records failed; retrying in %.1fs",
                    len(batch.events),
                    self.source,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._received.inc(len(batch.events))
                return


def build_raw_batch(source: str, pending: list[Pending]) -> RawBatch:
    """A ``RawBatch`` of records ``(received_at, peer, data)``, ids from one ULID block."""
    block = ids.ulid_block(len(pending))
    events = [
        RawEvent(event_id, received_at, source, peer, data)
        for event_id, (received_at, peer, data) in zip(block, pending, strict=True)
    ]
    return RawBatch(block[0], events)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("%s stopped", task.get_name(), exc_info=task.exception())


def split_records(
    records: list[bytes], max_events: int, max_bytes: int, max_record_bytes: int
) -> list[list[bytes]]:
    """Cut ``records`` into runs that fit one batch, as ``RecordBatcher`` does."""
    runs: list[list[bytes]] = [[]]
    size = 0
    limit = max_record_bytes + 1
    for record in records:
        data = record[:limit]
        cost = len(data) + RECORD_OVERHEAD_BYTES
        if runs[-1] and (len(runs[-1]) >= max_events or size + cost > max_bytes):
            runs.append([])
            size = 0
        runs[-1].append(data)
        size += cost
    return runs


async def publish_rejects(
    bus: Bus, metrics: Metrics, source: str, rejects: list[tuple[str, bytes, str]]
) -> None:
    """Publish records a receiver could not frame as dead letters (peer, data, reason)."""
    if not rejects:
        return
    block = ids.ulid_block(len(rejects))
    now = time.time()
    letters = [
        DeadLetter(letter_id, now, source, peer, reason, data, stage="ingest")
        for letter_id, (peer, data, reason) in zip(block, rejects, strict=True)
    ]
    try:
        await bus.publish(
            subjects.deadletter("ingest"), DeadLetterBatch(block[0], letters), msg_id=block[0]
        )
    except BusError:
        log.exception("could not keep %d unframeable records from %s", len(letters), source)
        metrics.dropped.labels(source, "bus").inc(len(letters))
        return
    metrics.dead_lettered.labels("ingest").inc(len(letters))
