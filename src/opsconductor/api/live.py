"""The live feed behind ``/api/v1/ws``: one bus listener per family in this process, fanned out
to the WebSocket connections through a bounded queue each.

Every API process listens to ``alerts.>``, ``findings.>`` and ``status.>`` with listeners of
its own (``consume(..., listener=True)``), so in a distributed deployment each process hears
every change. A message becomes frames (``{"type": ..., "data": ...}``, JSON-encoded once) and
each frame is offered to the feeds subscribed to its topic. A feed's queue holds at most
``queue_frames`` frames; a feed whose queue is full is dropped from the hub at once and ended
with 1008 ``slow consumer`` (counted in ``opsc_ws_slow_consumers``), so one client that does not
read can neither grow the process's memory nor hold back the hub or the other connections.
The hub hands the loop to the connections' writers every ``YIELD_EVERY`` frames of a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.ids import new_ulid
from opsconductor.messages import AlertChangeBatch, FindingBatch, Heartbeat
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)

QUEUE_FRAMES = 256
"""Frames one connection may have waiting before it is closed as a slow consumer."""
YIELD_EVERY = 64
"""Frames the hub queues before it lets the connections' writers run."""
SLOW_CONSUMER = (1008, "slow consumer")
GOING_AWAY = (1001, "server stopping")


@dataclass(frozen=True, slots=True)
class Topic:
    """What a client may subscribe to: the bus family that feeds it, the permission it needs."""

    name: str
    family: str
    permission: str


TOPICS: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        Topic("alert", subjects.ALERTS, "alerts:read"),
        Topic("finding", subjects.FINDINGS, "findings:read"),
        Topic("status", subjects.STATUS, "system:read"),
    )
}

_CREATED = frozenset({"new", "reopened"})
_RESOLVED = frozenset({"cleared", "resolved"})
_json = msgspec.json.Encoder()


def alert_event(change: str) -> str:
    """The frame type of an alert change: ``alert.created``, ``alert.resolved`` or ``.updated``."""
    if change in _CREATED:
        return "alert.created"
    if change in _RESOLVED:
        return "alert.resolved"
    return "alert.updated"


def frame(kind: str, **fields: Any) -> str:
    """One server frame: ``{"type": kind, **fields}`` as JSON text."""
    return _json.encode({"type": kind, **fields}).decode()


def _data_frame(kind: str, message: msgspec.Struct) -> str:
    data = msgspec.structs.asdict(message)
    data.pop("v", None)
    return frame(kind, data=data)


def frames_of(delivery: Delivery) -> Iterator[tuple[str, str]]:
    """(topic, frame) for each change a delivery carries."""
    message = delivery.message
    if isinstance(message, AlertChangeBatch):
        for change in message.changes:
            yield "alert", _data_frame(alert_event(change.change), change)
    elif isinstance(message, FindingBatch):
        for finding in message.findings:
            yield "finding", _data_frame("finding", finding)
    elif isinstance(message, Heartbeat):
        yield "status", _data_frame("status", message)


class Feed:
    """One connection's place in the hub: its topics, its bounded queue, why it must end."""

    def __init__(self, queue_frames: int) -> None:
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_frames)
        self.ended = asyncio.Event()
        self.close_with: tuple[int, str] | None = None

    def offer(self, text: str) -> bool:
        """Queue ``text`` without waiting; False when the queue is full (or the feed ended)."""
        if self.ended.is_set():
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, code: int, reason: str) -> None:
        """Ask the connection to close with ``code``; frames still queued are dropped."""
        if self.ended.is_set():
            return
        self.close_with = (code, reason)
        self.ended.set()
        while not self.queue.empty():
            self.queue.get_nowait()


class LiveHub:
    """The process's live feed: bus listeners in, bounded per-connection queues out.

    Started by the first connection (``ensure_started``), stopped with the HTTP server.
    """

    def __init__(self, bus: Bus, metrics: Metrics, *, queue_frames: int = QUEUE_FRAMES) -> None:
        self._bus = bus
        self._metrics = metrics
        self._queue_frames = queue_frames
        self._feeds: set[Feed] = set()
        self._by_topic: dict[str, set[Feed]] = {name: set() for name in TOPICS}
        self._subscriptions: list[Subscription] = []
        self._lock = asyncio.Lock()
        self._started = False
        self._stopped = False

    @property
    def connections(self) -> int:
        """Connections attached right now."""
        return len(self._feeds)

    async def ensure_started(self) -> bool:
        """Start the listeners unless running; False once the hub has stopped."""
        async with self._lock:
            if self._stopped:
                return False
            if not self._started:
                await self._listen()
                self._started = True
            return True

    async def _listen(self) -> None:
        suffix = new_ulid()
        try:
            for family in sorted({topic.family for topic in TOPICS.values()}):
                subscription = await self._bus.consume(
                    f"{family}.>",
                    f"live-{family}-{suffix}",
                    self._handle,
                    max_batch=16,
                    listener=True,
                )
                self._subscriptions.append(subscription)
        except BaseException:
            await self._unlisten()
            raise

    async def _unlisten(self) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.stop()
        self._subscriptions.clear()

    async def stop(self) -> None:
        """Stop listening and end every connection (1001)."""
        async with self._lock:
            self._stopped = True
            await self._unlisten()
        for feed in list(self._feeds):
            feed.end(*GOING_AWAY)
            self.detach(feed)

    def attach(self) -> Feed:
        """A new connection's feed, subscribed to nothing yet."""
        feed = Feed(self._queue_frames)
        self._feeds.add(feed)
        self._metrics.ws_connections.set(len(self._feeds))
        return feed

    def detach(self, feed: Feed) -> None:
        """Forget a feed (its connection closed)."""
        for name in feed.topics:
            self._by_topic[name].discard(feed)
        feed.topics.clear()
        self._feeds.discard(feed)
        self._metrics.ws_connections.set(len(self._feeds))

    def subscribe(self, feed: Feed, name: str) -> None:
        """Send ``feed`` the frames of topic ``name`` from now on."""
        if feed in self._feeds:
            feed.topics.add(name)
            self._by_topic[name].add(feed)

    def unsubscribe(self, feed: Feed, name: str) -> None:
        """Stop sending ``feed`` the frames of topic ``name``."""
        feed.topics.discard(name)
        self._by_topic[name].discard(feed)

    def send(self, feed: Feed, text: str) -> None:
        """Queue a reply (ack, error) for one connection; a full queue ends it."""
        if not feed.offer(text):
            self._drop_slow(feed)

    async def _handle(self, deliveries: Sequence[Delivery]) -> None:
        """Offer each change to the feeds of its topic, never waiting for any of them."""
        counts: dict[str, int] = {}
        queued = 0
        for delivery in deliveries:
            for topic, text in frames_of(delivery):
                counts[topic] = counts.get(topic, 0) + 1
                for feed in tuple(self._by_topic[topic]):
                    if not feed.offer(text):
                        self._drop_slow(feed)
                queued += 1
                if queued % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # the writers drain before the next stretch
        for topic, count in counts.items():
            self._metrics.ws_frames.labels(topic).inc(count)

    def _drop_slow(self, feed: Feed) -> None:
        if feed.ended.is_set():
            return
        log.warning("live feed: closing a WebSocket that does not keep up (slow consumer)")
        self._metrics.ws_slow_consumers.inc()
        feed.end(*SLOW_CONSUMER)
        self.detach(feed)
