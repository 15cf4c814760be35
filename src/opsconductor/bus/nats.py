"""The NATS JetStream bus of distributed mode.

Naming (``prefix`` is one deployment, e.g. ``opsc``; tests use a unique one):

* one stream per subject family: ``OPSC_RAW``, ``OPSC_EVENTS``, ``OPSC_DEADLETTER``,
  ``OPSC_CONTROL`` (``f"{prefix}_{family}".upper()``), capturing ``opsc.<family>.>``;
* subject ``raw.syslog`` travels as ``opsc.raw.syslog``; deliveries carry ``raw.syslog``;
* consumer ``durable`` is a durable pull consumer of that name on the family's stream.

Streams use file storage, a 2-minute duplicate window (``Nats-Msg-Id`` = ``msg_id``) and
*limits* retention bounded by age and bytes (``STREAM_LIMITS``), discarding the oldest when
full. Limits rather than work-queue retention for ``raw``: a work-queue stream refuses a
second consumer with an overlapping filter, which would break fan-out (a raw archive or replay
next to parse) and the contract both buses share; the cost is disk held until ``max_age``.

Consuming: ``fetch`` up to ``max_batch`` messages, decode, call the handler, then ack each
message. When the handler raises, each message is nak'ed with ``redelivery_delay`` until its
``max_attempts``-th delivery, then terminated and counted as poison. Bytes that do not decode
are terminated and counted as poison at once. A consumer that dies unacked (crash, SIGKILL)
gets its messages redelivered to the next consumer of the same durable after ``ack_wait``;
messages delivered more than ``max_attempts`` times that way are dropped as poison too. While
a handler runs longer than ``ack_wait``, its messages are kept in progress so they are not
handed to a competing consumer meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from opsconductor.bus import codec, subjects
from opsconductor.bus.jetstream_consumer import JetStreamSubscription
from opsconductor.bus.protocol import BusCounters, Handler
from opsconductor.config import mask_url
from opsconductor.errors import BusError
from opsconductor.messages import Message

log = logging.getLogger(__name__)

_GIB = 1024**3
_DAY = 86400.0
DUPLICATE_WINDOW = 120.0


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How long (seconds) and how much (bytes) a stream keeps before dropping the oldest."""

    max_age: float
    max_bytes: int


STREAM_LIMITS: dict[str, StreamLimits] = {
    subjects.RAW: StreamLimits(_DAY, 8 * _GIB),
    subjects.EVENTS: StreamLimits(_DAY, 8 * _GIB),
    subjects.DEADLETTER: StreamLimits(14 * _DAY, 1 * _GIB),
    subjects.FINDINGS: StreamLimits(7 * _DAY, 1 * _GIB),
    subjects.ALERTS: StreamLimits(_DAY, 1 * _GIB),
    subjects.CONTROL: StreamLimits(3600.0, 64 * 1024**2),
    subjects.STATUS: StreamLimits(3600.0, 64 * 1024**2),
}


LISTENER_INACTIVE_SECONDS = 60.0
BROADCAST_FAMILIES = frozenset({subjects.CONTROL, subjects.ALERTS, subjects.STATUS})
"""Families read by whoever listens (live feed, reload, heartbeats), kept by limits, not by
interest."""


def stream_name(prefix: str, family: str) -> str:
    """Name of the stream holding one family, e.g. ``OPSC_RAW``."""
    return f"{prefix}_{family}".upper()


class JetStreamBus:
    """The NATS JetStream ``Bus`` of distributed mode (see the module docstring).

    ``ack_wait``: seconds before an unacknowledged delivery goes to another consumer.
    ``max_ack_pending``: messages (batches) one durable may hold unacked — the backpressure.
    ``max_attempts`` / ``redelivery_delay``: handler failures tolerated per message, and the
    nak delay between them. ``fetch_timeout``: longest a fetch waits (also bounds ``stop``).
    ``max_inflight_publishes``: bound of ``try_publish`` sends not yet acknowledged.
    ``pending_interval``: how often ``pending()`` is refreshed from consumer info.
    ``agent_partitions``: how many ``agents-p<k>`` durables to declare with the streams.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "opsc",
        ack_wait: float = 30.0,
        max_ack_pending: int = 256,
        max_attempts: int = 5,
        redelivery_delay: float = 1.0,
        fetch_timeout: float = 1.0,
        publish_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        max_inflight_publishes: int = 256,
        pending_interval: float = 5.0,
        stream_limits: dict[str, StreamLimits] | None = None,
        agent_partitions: int = 1,
    ) -> None:
        if not prefix or not prefix.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"invalid prefix {prefix!r}: letters, digits, '_' and '-' only")
        if max_attempts < 1 or max_ack_pending < 1:
            raise ValueError("max_attempts and max_ack_pending must be at least 1")
        self.prefix = prefix
        self.agent_partitions = agent_partitions
        self.ack_wait = ack_wait
        self.max_attempts = max_attempts
        self.fetch_timeout = fetch_timeout
        self._url = url
        self._max_ack_pending = max_ack_pending
        self.redelivery_delay = redelivery_delay
        self._publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._max_inflight = max_inflight_publishes
        self._pending_interval = pending_interval
        self._limits = {**STREAM_LIMITS, **(stream_limits or {})}
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subscriptions: set[JetStreamSubscription] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self._pending: dict[str, int] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._counters = BusCounters()
        self._closing = False

    @property
    def counters(self) -> BusCounters:
        """Running totals: published, duplicates, rejected, redelivered, poison."""
        return self._counters

    async def start(self) -> None:
        """Connect (reconnecting forever afterwards) and create or update the streams."""
        nc, self._closing = Client(), False
        try:
            await asyncio.wait_for(self._connect(nc), self._connect_timeout)
            self._nc, self._js = nc, nc.jetstream(timeout=self._publish_timeout)
            await self.ensure_streams()
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            await nc.close()
            self._nc = self._js = None
            raise BusError(
                f"cannot start the JetStream bus at {mask_url(self._url)}: {exc!r}"
            ) from exc
        self._refresher = asyncio.create_task(self._refresh_loop(), name="bus-pending")

    async def _connect(self, nc: Client) -> None:
        async def on_error(exc: Exception) -> None:
            log.warning("nats: %r", exc)

        async def on_disconnect() -> None:
            if not self._closing:
                log.warning("nats: disconnected; reconnecting")

        async def on_reconnect() -> None:
            log.info("nats: reconnected")

        await nc.connect(
            self._url,
            name="opsconductor",
            connect_timeout=2,
            reconnect_time_wait=1,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
        )

    async def ensure_streams(self) -> None:
        """Create each family's stream, or update it to the current config, and declare the
        stages' durable consumers (idempotent)."""
        js = self._jetstream()
        for family in subjects.FAMILIES:
            config = self._stream_config(family)
            try:
                info = await js.stream_info(config.name or "")
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
                continue
            if info.config.retention != config.retention:
                log.error(
                    "stream %s keeps its %s retention (JetStream cannot change it; "
                    "delete the stream to adopt %s)",
                    config.name,
                    info.config.retention,
                    config.retention,
                )
                config.retention = info.config.retention
                config.discard = info.config.discard
            await js.update_stream(config)
        for subject_filter, durable in subjects.stage_consumers(self.agent_partitions):
            family = subjects.filter_family(subject_filter)
            await self._ensure_consumer(
                stream_name(self.prefix, family), durable, f"{self.prefix}.{subject_filter}"
            )

    def _stream_config(self, family: str) -> StreamConfig:
        """Pipeline streams keep a record until every consumer has acknowledged it and,
        when full, refuse new ones: publishers feel backpressure and nothing accepted is
        discarded. Control messages are broadcast and short-lived: limits, oldest out."""
        limits = self._limits[family]
        broadcast = family in BROADCAST_FAMILIES
        return StreamConfig(
            name=stream_name(self.prefix, family),
            subjects=[f"{self.prefix}.{family}.>"],
            retention=RetentionPolicy.LIMITS if broadcast else RetentionPolicy.INTEREST,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD if broadcast else DiscardPolicy.NEW,
            max_age=limits.max_age,
            max_bytes=limits.max_bytes,
            duplicate_window=DUPLICATE_WINDOW,
        )

    async def delete_streams(self) -> None:
        """Delete this prefix's streams and their consumers (tests, uninstall)."""
        js = self._jetstream()
        for family in subjects.FAMILIES:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream_name(self.prefix, family))

    async def close(self) -> None:
        """Stop consumers after their batch in hand, finish sends, close the connection."""
        self._closing = True
        await asyncio.gather(*(s.stop() for s in list(self._subscriptions)))
        if self._refresher is not None:
            self._refresher.cancel()
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self._publish_timeout)
        if self._nc is not None:
            await self._nc.close()
        self._nc = self._js = None

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> None:
        """Store ``message`` in its stream; returns on the PubAck (``BusError`` otherwise)."""
        js = self._jetstream()
        try:
            subjects.check_subject(subject)
            payload = codec.encode(message)
            ack = await js.publish(
                f"{self.prefix}.{subject}", payload, headers={"Nats-Msg-Id": msg_id}
            )
        except (ValueError, nats.errors.Error) as exc:
            raise BusError(f"publish on {subject!r} failed: {exc!r}") from exc
        if ack.duplicate:
            self._counters.duplicates += 1
        else:
            self._counters.published += 1

    def try_publish(self, subject: str, message: Message, *, msg_id: str) -> bool:
        """Send in the background; False (counted) when ``max_inflight_publishes`` are unacked."""
        if len(self._inflight) >= self._max_inflight:
            self._counters.rejected += 1
            return False
        self._jetstream()
        task = asyncio.create_task(self._publish_logged(subject, message, msg_id))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return True

    async def _publish_logged(self, subject: str, message: Message, msg_id: str) -> None:
        try:
            await self.publish(subject, message, msg_id=msg_id)
        except BusError:
            log.exception("bus dropped a message accepted by try_publish")

    async def consume(
        self,
        subject_filter: str,
        durable: str,
        handler: Handler,
        *,
        max_batch: int = 64,
        listener: bool = False,
    ) -> JetStreamSubscription:
        """Create (or bind to) the durable pull consumer and start fetching."""
        js = self._jetstream()
        try:
            family = subjects.filter_family(subject_filter)
            subjects.check_durable(durable)
        except ValueError as exc:
            raise BusError(str(exc)) from exc
        stream = stream_name(self.prefix, family)
        wanted = f"{self.prefix}.{subject_filter}"
        try:
            await self._ensure_consumer(
                stream, durable, wanted, listener=listener or family in BROADCAST_FAMILIES
            )
            psub = await js.pull_subscribe_bind(durable=durable, stream=stream)
        except nats.errors.Error as exc:
            raise BusError(f"cannot consume {subject_filter!r} as {durable!r}: {exc!r}") from exc
        sub = JetStreamSubscription(self, psub, durable, handler, max(1, max_batch))
        self._subscriptions.add(sub)
        return sub

    async def _ensure_consumer(
        self, stream: str, durable: str, wanted: str, *, listener: bool = False
    ) -> None:
        """Create or update a durable. A ``listener`` (of a broadcast family: reload commands,
        the alert feed) starts at new messages and is removed by the server a minute after
        its process stops asking, so per-process listener names do not pile up."""
        js = self._jetstream()
        try:
            info = await js.consumer_info(stream, durable)
        except nats.js.errors.NotFoundError:
            info = None
        if info is not None and info.config.filter_subject != wanted:
            raise BusError(
                f"durable {durable!r} already consumes {info.config.filter_subject!r}, "
                f"not {wanted!r}"
            )
        config = ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.NEW if listener else DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_ack_pending=self._max_ack_pending,
            filter_subject=wanted,
            inactive_threshold=LISTENER_INACTIVE_SECONDS if listener else None,
        )
        await js.add_consumer(stream, config)  # create, or update ack_wait / max_ack_pending

    def pending(self) -> dict[str, int]:
        """Per durable: unprocessed + unacked messages, as of the last refresh."""
        return dict(self._pending)

    async def refresh_pending(self) -> dict[str, int]:
        """Ask the server for ``pending()`` now (one round trip per consumer)."""
        subs = {s.durable: s for s in self._subscriptions}
        for durable, sub in subs.items():
            with contextlib.suppress(nats.errors.Error):
                info = await sub.psub.consumer_info()
                if sub in self._subscriptions:  # not released while the answer was on its way
                    self._pending[durable] = (info.num_pending or 0) + (info.num_ack_pending or 0)
        return self.pending()

    async def _refresh_loop(self) -> None:
        while True:
            await self.refresh_pending()
            await asyncio.sleep(self._pending_interval)

    @property
    def server_version(self) -> str | None:
        """The version of the NATS server this bus is connected to, if connected."""
        if self._nc is None or not self._nc.is_connected:
            return None
        version = self._nc.connected_server_version
        return f"NATS {version.major}.{version.minor}.{version.patch}"

    async def healthy(self) -> bool:
        """True while the connection to NATS is up."""
        return self._nc is not None and self._nc.is_connected

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise BusError("the JetStream bus is not started")
        return self._js

    def release(self, subscription: JetStreamSubscription) -> None:
        """Forget a stopped subscription (and its pending count when it was the last)."""
        self._subscriptions.discard(subscription)
        if all(s.durable != subscription.durable for s in self._subscriptions):
            self._pending.pop(subscription.durable, None)
