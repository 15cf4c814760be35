"""A durable JetStream pull consumer: fetch a batch, hand it to the handler, then ack.

On a handler failure each message is nak'ed with the bus's ``redelivery_delay`` until its
``max_attempts``-th delivery, then terminated and counted as poison; bytes that do not decode
are poison at once. While a handler runs, its messages are kept in progress so they are not
redelivered to a competing consumer meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from opsconductor.bus import codec
from opsconductor.bus.protocol import Delivery, Handler

if TYPE_CHECKING:
    from opsconductor.bus.nats import JetStreamBus

log = logging.getLogger(__name__)


class JetStreamSubscription:
    """One durable pull consumer: a task fetching batches and calling the handler."""

    def __init__(
        self,
        bus: JetStreamBus,
        psub: JetStreamContext.PullSubscription,
        durable: str,
        handler: Handler,
        max_batch: int,
    ) -> None:
        self.durable = durable
        self.psub = psub
        self._bus = bus
        self._handler = handler
        self._max_batch = max_batch
        self._strip = len(bus.prefix) + 1
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"bus-consumer-{durable}")

    async def stop(self) -> None:
        """Stop after the batch in hand (at most one fetch timeout later)."""
        self._stopping = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(nats.errors.Error):
            await self.psub.unsubscribe()
        self._bus.release(self)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                msgs = await self.psub.fetch(self._max_batch, timeout=self._bus.fetch_timeout)
            except TimeoutError:  # nothing to fetch (nats raises either TimeoutError)
                continue
            except nats.errors.Error as exc:
                log.warning("bus fetch for %s failed: %r; retrying", self.durable, exc)
                await asyncio.sleep(self._bus.fetch_timeout)
                continue
            if self._stopping:  # hand them straight back to a competing consumer
                await asyncio.gather(*(m.nak() for m in msgs), return_exceptions=True)
                break
            await self._handle(msgs)

    async def _handle(self, msgs: list[Msg]) -> None:
        deliveries: list[Delivery] = []
        taken: list[Msg] = []
        for msg in msgs:
            delivery = await self._decode(msg)
            if delivery is not None:
                deliveries.append(delivery)
                taken.append(msg)
        if not taken:
            return
        keepalive = asyncio.create_task(self._keep_in_progress(taken))
        try:
            await self._handler(deliveries)
        except Exception:
            log.warning("bus handler of %s failed on a batch", self.durable, exc_info=True)
            await self._retry_or_poison(taken)
            return
        finally:
            keepalive.cancel()
        await self._ack_all(taken)

    async def _decode(self, msg: Msg) -> Delivery | None:
        """The delivery for ``msg``, or None after terminating it as poison."""
        subject = msg.subject[self._strip :]
        delivered = msg.metadata.num_delivered
        if delivered > self._bus.max_attempts:
            await self._poison(msg, f"delivered {delivered} times unacked")
            return None
        try:
            message = codec.decode(subject, msg.data)
        except ValueError as exc:  # msgspec.DecodeError is a ValueError
            await self._poison(msg, f"undecodable: {exc}")
            return None
        return Delivery(subject, message, delivered > 1)

    async def _keep_in_progress(self, msgs: list[Msg]) -> None:
        while True:
            await asyncio.sleep(self._bus.ack_wait / 3)
            await asyncio.gather(*(m.in_progress() for m in msgs), return_exceptions=True)

    async def _ack_all(self, msgs: list[Msg]) -> None:
        results = await asyncio.gather(*(m.ack() for m in msgs), return_exceptions=True)
        failed = sum(isinstance(r, BaseException) for r in results)
        if failed:  # they will be redelivered after ack_wait: handlers are idempotent
            log.warning("bus could not ack %d message(s); expect redelivery", failed)

    async def _retry_or_poison(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            if msg.metadata.num_delivered >= self._bus.max_attempts:
                await self._poison(msg, f"handler failed {self._bus.max_attempts} times")
                continue
            self._bus.counters.redelivered += 1
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=self._bus.redelivery_delay)

    async def _poison(self, msg: Msg, reason: str) -> None:
        self._bus.counters.poison += 1
        meta = msg.metadata
        where = f"{msg.subject} (stream {meta.stream} seq {meta.sequence.stream})"
        log.error("bus dropped a poison message on %s for %s: %s", where, self.durable, reason)
        with contextlib.suppress(nats.errors.Error):
            await msg.term()
