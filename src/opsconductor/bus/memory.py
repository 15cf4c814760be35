"""The in-process bus of embedded mode: asyncio queues, no serialization.

Message objects travel as they are (they are frozen), so the per-publish cost is a dedup
lookup, a cached route lookup and a deque append per matching durable consumer.

* Each durable name owns one bounded queue (``queue_max_batches`` messages). Every
  subscription under that name takes from the same queue (work queue); each durable name gets
  its own copy of every matching message (fan-out).
* ``publish`` waits until every matching queue has room, then appends to all of them at once;
  ``try_publish`` returns False instead of waiting.
* A handler that raises gets its batch back after ``redelivery_delay`` seconds, marked
  ``redelivered``, at the front of the queue; after ``max_attempts`` failed attempts the
  messages are logged and counted as ``poison``. Redelivered messages may overtake newer ones
  already taken by a competing consumer, as on JetStream.
* A message whose subject matches no durable consumer is dropped: unlike a JetStream stream,
  nothing is retained for a consumer that subscribes later.
* A durable queue outlives its subscriptions (a restarted consumer resumes it); while no
  subscription drains it, publishers to its subjects wait once it is full. A listener's
  queue (``consume(..., listener=True)``) is dropped with its last subscription instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from opsconductor.bus import subjects
from opsconductor.bus.protocol import BusCounters, Delivery, Handler
from opsconductor.errors import BusError
from opsconductor.messages import Message

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Item:
    """A queued message, with how many handler attempts on it have failed."""

    subject: str
    message: Message
    attempts: int = 0


class _DedupWindow:
    """Recently published ids, capped by count and by age (seconds)."""

    def __init__(self, window: float, max_ids: int) -> None:
        self._window = window
        self._max_ids = max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, msg_id: str, now: float) -> bool:
        """True when ``msg_id`` was recorded within the window; forgets expired ids."""
        seen = self._seen
        horizon = now - self._window
        while seen:
            oldest = next(iter(seen.values()))
            if oldest >= horizon:
                break
            seen.popitem(last=False)
        return msg_id in seen

    def add(self, msg_id: str, now: float) -> None:
        """Record ``msg_id``, evicting the oldest id beyond the count cap."""
        self._seen[msg_id] = now
        if len(self._seen) > self._max_ids:
            self._seen.popitem(last=False)


class _DurableQueue:
    """The bounded FIFO of one durable name, shared by its competing subscriptions."""

    def __init__(self, name: str, subject_filter: str, bound: int, listener: bool) -> None:
        self.name = name
        self.subject_filter = subject_filter
        self.bound = bound
        self.listener = listener
        self.items: deque[_Item] = deque()
        self.in_flight = 0  # taken by a handler, or waiting for redelivery
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    def full(self) -> bool:
        """True when a publish would have to wait."""
        return len(self.items) >= self.bound

    def put(self, item: _Item) -> None:
        """Append (the caller has checked for room)."""
        self.items.append(item)
        self._readable.set()

    def put_back(self, items: list[_Item]) -> None:
        """Return messages to the front of the queue, over the bound if need be."""
        self.items.extendleft(reversed(items))
        self._readable.set()

    async def wait_writable(self) -> None:
        """Wait until the queue has room (or ``wake_all`` is called on close)."""
        self._writable.clear()
        await self._writable.wait()

    async def take(self, max_batch: int) -> list[_Item]:
        """Wait for at least one message, then take up to ``max_batch`` available ones."""
        items = self.items
        while not items:
            self._readable.clear()
            await self._readable.wait()
        count = min(max_batch, len(items))
        batch = [items.popleft() for _ in range(count)]
        self.in_flight += count
        if len(items) < self.bound:
            self._writable.set()
        return batch

    def wake_all(self) -> None:
        """Release every waiting publisher (used on close; they then see the bus closed)."""
        self._writable.set()


class MemorySubscription:
    """One consumer task taking batches from a durable queue and calling the handler."""

    def __init__(
        self, bus: MemoryBus, queue: _DurableQueue, handler: Handler, max_batch: int
    ) -> None:
        self._bus = bus
        self.queue = queue
        self._handler = handler
        self._max_batch = max_batch
        self._busy = False
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"bus-consumer-{queue.name}")

    async def stop(self) -> None:
        """Stop after the batch in hand; messages still queued stay for the durable name."""
        self._stopping = True
        if not self._busy:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._bus._forget(self)

    async def _run(self) -> None:
        queue = self.queue
        while not self._stopping:
            batch = await queue.take(self._max_batch)
            self._busy = True
            try:
                await self._deliver(batch)
            finally:
                self._busy = False

    async def _deliver(self, batch: list[_Item]) -> None:
        deliveries = [Delivery(i.subject, i.message, i.attempts > 0) for i in batch]
        try:
            await self._handler(deliveries)
        except asyncio.CancelledError:
            self.queue.in_flight -= len(batch)
            self.queue.put_back(batch)
            raise
        except Exception:
            log.warning(
                "bus handler of %s failed on %d message(s)",
                self.queue.name,
                len(batch),
                exc_info=True,
            )
            self._bus._retry(self.queue, batch)
        else:
            self.queue.in_flight -= len(batch)


class MemoryBus:
    """The in-process ``Bus`` of embedded mode (one process, one event loop).

    ``queue_max_batches`` bounds each durable queue, in messages (each a batch of records).
    ``dedup_window`` (seconds) and ``dedup_max_ids`` bound the msg_id memory.
    ``max_attempts`` is how often a failing batch is handed to a handler before its messages
    are dropped as poison; ``redelivery_delay`` (seconds) is the pause before each retry.
    """

    def __init__(
        self,
        *,
        queue_max_batches: int = 256,
        dedup_window: float = 120.0,
        dedup_max_ids: int = 100_000,
        max_attempts: int = 5,
        redelivery_delay: float = 0.5,
    ) -> None:
        if queue_max_batches < 1 or max_attempts < 1:
            raise ValueError("queue_max_batches and max_attempts must be at least 1")
        self._bound = queue_max_batches
        self._dedup = _DedupWindow(dedup_window, dedup_max_ids)
        self._max_attempts = max_attempts
        self._redelivery_delay = redelivery_delay
        self.queues: dict[str, _DurableQueue] = {}
        self._routes: dict[str, tuple[_DurableQueue, ...]] = {}
        self._subscriptions: set[MemorySubscription] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self._closed = False
        self._counters = BusCounters()

    @property
    def counters(self) -> BusCounters:
        """Running totals: published, duplicates, rejected, redelivered, poison."""
        return self._counters

    async def start(self) -> None:
        """Nothing to connect; present for the protocol."""
        if self._closed:
            raise BusError("the in-process bus was closed")

    async def close(self) -> None:
        """Stop every consumer after its batch in hand; log what is left undelivered."""
        if self._closed:
            return
        self._closed = True
        for queue in self.queues.values():
            queue.wake_all()
        await asyncio.gather(*(s.stop() for s in list(self._subscriptions)))
        for timer in list(self._timers):
            timer.cancel()
        left = {name: depth for name, depth in self.pending().items() if depth}
        if left:
            log.warning("bus closed with undelivered messages per durable: %s", left)

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> None:
        """Queue ``message`` for every matching durable; wait while any of them is full."""
        while True:
            if self._closed:
                raise BusError("the in-process bus is closed")
            if self._dedup.seen(msg_id, time.monotonic()):
                self._counters.duplicates += 1
                return
            targets = self._route(subject)
            for queue in targets:
                if queue.full():
                    await queue.wait_writable()
                    break
            else:
                break
        self._enqueue(subject, message, msg_id, targets)

    def try_publish(self, subject: str, message: Message, *, msg_id: str) -> bool:
        """Queue ``message`` unless a matching queue is full (then False, counted)."""
        if self._closed:
            raise BusError("the in-process bus is closed")
        if self._dedup.seen(msg_id, time.monotonic()):
            self._counters.duplicates += 1
            return True
        targets = self._route(subject)
        for queue in targets:
            if queue.full():
                self._counters.rejected += 1
                return False
        self._enqueue(subject, message, msg_id, targets)
        return True

    async def consume(
        self,
        subject_filter: str,
        durable: str,
        handler: Handler,
        *,
        max_batch: int = 64,
        listener: bool = False,
    ) -> MemorySubscription:
        """Start a consumer task; the same ``durable`` name shares one queue (work queue).
        A ``listener``'s queue goes when its last subscription stops."""
        if self._closed:
            raise BusError("the in-process bus is closed")
        try:
            subjects.filter_family(subject_filter)
            subjects.check_durable(durable)
        except ValueError as exc:
            raise BusError(str(exc)) from exc
        queue = self.queues.get(durable)
        if queue is None:
            queue = _DurableQueue(durable, subject_filter, self._bound, listener)
            self.queues[durable] = queue
            self._routes.clear()
        elif queue.subject_filter != subject_filter:
            raise BusError(
                f"durable {durable!r} already consumes {queue.subject_filter!r}, "
                f"not {subject_filter!r}"
            )
        subscription = MemorySubscription(self, queue, handler, max(1, max_batch))
        self._subscriptions.add(subscription)
        return subscription

    def pending(self) -> dict[str, int]:
        """Messages queued or unacknowledged, per durable name."""
        return {name: len(q.items) + q.in_flight for name, q in self.queues.items()}

    async def refresh_pending(self) -> dict[str, int]:
        """Same as ``pending`` (always current here); mirrors ``JetStreamBus``."""
        return self.pending()

    async def healthy(self) -> bool:
        """True until closed."""
        return not self._closed

    def _route(self, subject: str) -> tuple[_DurableQueue, ...]:
        targets = self._routes.get(subject)
        if targets is None:
            try:
                subjects.check_subject(subject)
            except ValueError as exc:
                raise BusError(str(exc)) from exc
            targets = tuple(
                q for q in self.queues.values() if subjects.matches(q.subject_filter, subject)
            )
            self._routes[subject] = targets
        return targets

    def _enqueue(
        self, subject: str, message: Message, msg_id: str, targets: tuple[_DurableQueue, ...]
    ) -> None:
        self._dedup.add(msg_id, time.monotonic())
        self._counters.published += 1
        for queue in targets:
            queue.put(_Item(subject, message))

    def _retry(self, queue: _DurableQueue, batch: list[_Item]) -> None:
        """After a handler failure: schedule redelivery, or drop the last attempt as poison."""
        retry: list[_Item] = []
        for item in batch:
            item.attempts += 1
            if item.attempts < self._max_attempts:
                retry.append(item)
                continue
            self._counters.poison += 1
            log.error(
                "bus dropped a poison message on %s for %s after %d attempts",
                item.subject,
                queue.name,
                item.attempts,
            )
        queue.in_flight -= len(batch) - len(retry)
        if not retry:
            return
        self._counters.redelivered += len(retry)
        task = asyncio.create_task(self._redeliver_later(queue, retry))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _redeliver_later(self, queue: _DurableQueue, retry: list[_Item]) -> None:
        await asyncio.sleep(self._redelivery_delay)
        queue.in_flight -= len(retry)
        queue.put_back(retry)

    def _forget(self, subscription: MemorySubscription) -> None:
        self._subscriptions.discard(subscription)
        queue = subscription.queue
        if queue.listener and all(s.queue is not queue for s in self._subscriptions):
            self.queues.pop(queue.name, None)
            self._routes.clear()
            queue.wake_all()  # a publisher waiting for its room routes again
