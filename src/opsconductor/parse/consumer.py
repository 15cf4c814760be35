"""The parse stage's bus edge: ``raw.>`` in, ``events.<domain>.<partition>`` and
``deadletter.parse`` out (the partition is the device's, see ``subjects.partition_of``).

Output ids derive from the input batch id, so a batch redelivered after a crash republishes
the same message ids and JetStream drops the duplicates; the store's unique keys catch any
that outlive the duplicate window.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence

from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.messages import DeadLetter, DeadLetterBatch, Event, EventBatch, RawBatch
from opsconductor.observability import Metrics
from opsconductor.parse.service import ParseOutcome, Parser

DURABLE = subjects.PARSE_CONSUMER[1]

log = logging.getLogger(__name__)


class ParseStage:
    """Parses raw batches and publishes the events by domain."""

    name = "parse"

    def __init__(
        self,
        bus: Bus,
        parser: Parser,
        metrics: Metrics,
        *,
        max_batch: int = 8,
        partitions: int = 1,
    ) -> None:
        self._bus = bus
        self._partitions = partitions
        self._parser = parser
        self._metrics = metrics
        self._max_batch = max_batch
        self._subscription: Subscription | None = None
        self._ok = metrics.parsed.labels("ok")
        self._partial = metrics.parsed.labels("partial")
        self._dead = metrics.dead_lettered.labels("parse")
        self._seconds = metrics.batch_seconds.labels("parse")

    async def start(self) -> None:
        """Subscribe to every raw subject."""
        self._subscription = await self._bus.consume(
            *subjects.PARSE_CONSUMER, self.handle, max_batch=self._max_batch
        )

    async def stop(self) -> None:
        """Stop after the batch in hand."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Parse each raw batch and publish its output before the deliveries are acked."""
        for delivery in deliveries:
            batch = delivery.message
            if isinstance(batch, RawBatch):
                await self._handle_batch(batch)

    async def _handle_batch(self, batch: RawBatch) -> None:
        started = time.perf_counter()
        outcome = self._parse(batch)
        for (domain, partition), events in self._split(outcome.events).items():
            msg_id = f"{batch.id}.{domain}.{partition}"
            await self._bus.publish(
                subjects.events(domain, partition), EventBatch(msg_id, events), msg_id=msg_id
            )
        if outcome.dead_letters:
            msg_id = f"{batch.id}.dead"
            await self._bus.publish(
                subjects.deadletter(DURABLE),
                DeadLetterBatch(msg_id, outcome.dead_letters),
                msg_id=msg_id,
            )
        self._count(outcome.events, len(outcome.dead_letters))
        self._seconds.observe(time.perf_counter() - started)
        if batch.events:
            self._metrics.observe_lag(self.name, batch.events[-1].received_at)

    def _split(self, events: list[Event]) -> dict[tuple[str, int], list[Event]]:
        """Events by (domain, device partition): the subject each group travels on."""
        parts: dict[tuple[str, int], list[Event]] = defaultdict(list)
        count = self._partitions
        if count == 1:
            for event in events:
                parts[(event.domain, 0)].append(event)
            return parts
        partition_of = subjects.partition_of
        for event in events:
            parts[(event.domain, partition_of(event.device_id, count))].append(event)
        return parts

    def _parse(self, batch: RawBatch) -> ParseOutcome:
        """Parse a batch; a record the parser fails on becomes a dead letter, not poison.

        Parsing is pure code, so an exception here is a defect, not a passing fault: a retry
        would fail the same way and the whole batch would be lost as poison. The batch is
        parsed again record by record instead, and only the records that fail are kept as
        dead letters (with the error), to be replayed once the defect is fixed.
        """
        try:
            return self._parser.parse_batch(batch)
        except Exception:
            log.exception("parser failed on batch %s; parsing it record by record", batch.id)
        outcome = ParseOutcome(events=[], dead_letters=[])
        for raw in batch.events:
            try:
                result = self._parser.parse_one(raw)
            except Exception as exc:
                reason = f"parser error: {type(exc).__name__}: {exc}"[:500]
                result = DeadLetter(raw.id, raw.received_at, raw.source, raw.peer, reason, raw.data)
            if isinstance(result, DeadLetter):
                outcome.dead_letters.append(result)
            else:
                outcome.events.append(result)
        return outcome

    def _count(self, events: list[Event], dead: int) -> None:
        ok = partial = generic = 0
        for event in events:
            status = event.parse_status
            if status == "ok":
                ok += 1
            elif status == "partial":
                partial += 1
            else:
                generic += 1
        self._ok.inc(ok)
        self._partial.inc(partial)
        self._metrics.unparsed.inc(generic)
        self._dead.inc(dead)
