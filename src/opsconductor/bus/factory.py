"""Pick the bus for a deployment: in-process when no NATS URL is set, JetStream otherwise."""

from __future__ import annotations

from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus
from opsconductor.bus.protocol import Bus
from opsconductor.config import Settings


def create_bus(settings: Settings) -> Bus:
    """The bus ``settings`` asks for (not started: the caller awaits ``start()``).

    ``queue_max_batches`` bounds each in-process durable queue, and on JetStream the
    unacknowledged messages per durable consumer (``max_ack_pending``): the same backpressure.
    """
    if settings.nats_url is None:
        return MemoryBus(queue_max_batches=settings.queue_max_batches)
    return JetStreamBus(
        settings.nats_url.get_secret_value(),
        prefix=settings.nats_prefix,
        max_ack_pending=settings.queue_max_batches,
        ack_wait=settings.nats_ack_wait_seconds,
        agent_partitions=settings.agent_partitions,
    )
