"""The bus seam. Stages publish and consume through this protocol and never learn which
implementation carries their messages.

Semantics both implementations keep:

* ``publish`` returns once the message is accepted (queued in process, or stored by JetStream).
  It waits when a bounded queue is full: that is the backpressure a TCP receiver passes on.
* ``try_publish`` never waits: it returns False when the message cannot be taken right now
  (a bounded queue is full), so a UDP receiver can count the drop and move on.
* ``msg_id`` de-duplicates: publishing the same id twice within the duplicate window delivers once.
* ``consume`` with a durable name is a work queue: consumers sharing the name split the
  messages; consumers with different names each see every message.
* ``consume(..., listener=True)`` is a process's own ear on a family (reload commands, the
  live feed): it sees the messages published from then on, and is forgotten once it stops
  (in process: its queue is dropped; JetStream: the server removes it after a minute
  without its process). A durable name of its own per process, e.g. ending in a ULID.
* A handler gets a list of deliveries; when it returns they are acknowledged, when it raises
  they are redelivered (``Delivery.redelivered``) after a short delay, up to a configured
  number of attempts; then they are dropped, logged and counted as ``poison``. Handlers
  therefore commit before they return (ack after commit), and must be idempotent.
* Subjects and filters name a known family as their first token (``raw.*``, ``events.>``);
  a filter cannot span families.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from opsconductor.messages import Message


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a consumer, with the subject it was published on."""

    subject: str
    message: Message
    redelivered: bool = False


@dataclass(slots=True)
class BusCounters:
    """Running totals one bus instance keeps, for metrics (each only ever grows)."""

    published: int = 0  #: messages accepted by ``publish``/``try_publish``
    duplicates: int = 0  #: publishes dropped because their ``msg_id`` was seen in the window
    rejected: int = 0  #: ``try_publish`` calls answered False (queue full)
    redelivered: int = 0  #: messages handed back for another attempt after a handler failed
    poison: int = 0  #: messages dropped after the last attempt, or that could not be decoded


Handler = Callable[[Sequence[Delivery]], Awaitable[None]]


class Subscription(Protocol):
    """A running consumer; ``stop`` ends it after the batch in hand."""

    async def stop(self) -> None: ...


class Bus(Protocol):
    """What every stage needs from a message bus."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> None: ...

    def try_publish(self, subject: str, message: Message, *, msg_id: str) -> bool:
        """Publish without waiting; False (and counted as ``rejected``) when it cannot be taken."""
        ...

    async def consume(
        self,
        subject_filter: str,
        durable: str,
        handler: Handler,
        *,
        max_batch: int = 64,
        listener: bool = False,
    ) -> Subscription: ...

    def pending(self) -> dict[str, int]:
        """Messages waiting per durable consumer (the queue-depth metric), where known."""
        ...

    async def healthy(self) -> bool: ...

    @property
    def counters(self) -> BusCounters:
        """Running totals: published, duplicates, rejected, redelivered, poison."""
        ...
