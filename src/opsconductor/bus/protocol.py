"""The bus seam. Stages publish and consume through this protocol and never learn which
implementation carries their messages.

Semantics both implementations keep:

* ``publish`` returns once the message is accepted (queued in process, or stored by JetStream).
  It waits when a bounded queue is full: that is the backpressure a TCP receiver passes on.
* ``msg_id`` de-duplicates: publishing the same id twice within the duplicate window delivers once.
* ``consume`` with a durable name is a work queue: consumers sharing the name split the
  messages; consumers with different names each see every message.
* A handler gets a list of deliveries; when it returns they are acknowledged, when it raises
  they are redelivered. Handlers therefore commit before they return (ack after commit).
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


Handler = Callable[[Sequence[Delivery]], Awaitable[None]]


class Subscription(Protocol):
    """A running consumer; ``stop`` ends it after the batch in hand."""

    async def stop(self) -> None: ...


class Bus(Protocol):
    """What every stage needs from a message bus."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> None: ...

    async def consume(
        self,
        subject_filter: str,
        durable: str,
        handler: Handler,
        *,
        max_batch: int = 64,
    ) -> Subscription: ...

    def pending(self) -> dict[str, int]:
        """Messages waiting per durable consumer (the queue-depth metric), where known."""
        ...

    async def healthy(self) -> bool: ...
