"""The agents of one partition: their engines, their saved state and their bus consumer.

Embedded mode runs one runner for everything (partition ``all``, durable ``agents`` on
``events.>``); distributed mode runs one per owned partition (``agents-p<k>`` on
``events.*.<k>``). A runner evaluates each delivered batch, publishes the findings per agent
on ``findings.<agent>``, saves its state and only then returns, so the bus acknowledges the
batch after both. The saved state also lists the batches it already holds: a batch
redelivered after a crash between the save and the ack is recognised and not counted twice,
and a crash before the save replays the batch from the state that preceded it, yielding the
same findings (their ids derive from the evidence; the bus and the store drop duplicates).
Publishing and saving wait out an unreachable bus or database instead of failing the batch.
In embedded mode a crash loses the in-process queues anyway, so there the state is saved by
the timer (``save_each_batch=False``) and when the runner stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.agents.agent import BaseAgent, build_agents
from opsconductor.agents.engine import Detection
from opsconductor.agents.rules import Rule
from opsconductor.agents.state import claim_state, save_state
from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.errors import BusError, OpsConductorError
from opsconductor.messages import EventBatch, Finding, FindingBatch
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)
_encode_state = msgspec.msgpack.Encoder().encode
_decode_state = msgspec.msgpack.Decoder(dict[str, bytes]).decode
_BATCHES = "__batches__"
"""Key of the saved state that lists the batches the state already holds."""
REMEMBERED_BATCHES = 64
"""Redelivery after a crash hands back only the batches in hand (a handler takes up to 8)."""
RETRY_MAX_SECONDS = 5.0


class PartitionMoved(OpsConductorError):
    """Another worker claimed this partition's state: this runner must stop."""


class PartitionRunner:
    """Evaluates one partition's events with every agent and keeps their state."""

    def __init__(
        self,
        key: str,
        consumer: tuple[str, str],
        bus: Bus,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        rules: Sequence[Rule],
        *,
        save_each_batch: bool = True,
        keep_state: bool = True,
    ) -> None:
        self.key = key
        self._keep_state = keep_state
        self.durable = consumer[1]
        self._consumer = consumer
        self._save_each_batch = save_each_batch
        self._bus = bus
        self._sessions = sessions
        self._metrics = metrics
        self.agents: dict[str, BaseAgent] = build_agents(rules)
        self._subscription: Subscription | None = None
        self._epoch = 0
        self._done: dict[str, None] = {}  # batch ids the state holds, oldest first
        self._dirty = False
        self.closed = False
        self.moved = False
        self.newest_received = 0.0
        self._lock = asyncio.Lock()  # batches, timers, reloads and saves take turns
        self._seconds = metrics.batch_seconds.labels("agents")

    async def start(self) -> None:
        """Claim the saved state (fencing out a former owner), then start consuming. Without
        ``keep_state`` (a one-off replay) the state lives and dies with the runner."""
        if self._keep_state:
            async with self._sessions() as session:
                saved, self._epoch = await claim_state(session, self.key, time.time())
                await session.commit()
            if saved:
                self._restore(saved)
        self._subscription = await self._bus.consume(*self._consumer, self.handle, max_batch=8)

    async def stop(self, *, save: bool = True) -> None:
        """Stop after the batch in hand; save the state for the next owner unless told not to
        (the partition may belong to someone else already)."""
        self.closed = True
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        if save and not self.moved:
            async with self._lock:
                with contextlib.suppress(PartitionMoved):  # logged; the new owner's stands
                    await self._save_now()

    async def reload(self, rules: Sequence[Rule]) -> None:
        """Apply changed rules; the state of rules that did not change is kept."""
        async with self._lock:
            for name, agent in self.agents.items():
                agent.replace_rules([rule for rule in rules if rule.agent == name])
            self._dirty = True

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Evaluate each batch, publish its findings, save the state; then the bus acks."""
        started = time.perf_counter()
        async with self._lock:
            if self.moved:
                raise PartitionMoved(f"partition {self.key} has another owner")
            for delivery in deliveries:
                batch = delivery.message
                if isinstance(batch, EventBatch) and batch.events and batch.id not in self._done:
                    detections = self._evaluate(batch)
                    await self.publish(detections, batch.id)
                    self._remember(batch)
            if self._save_each_batch and self._dirty:
                await self._save_now()
        self._seconds.observe(time.perf_counter() - started)

    def behind(self, pending: int, now: float, tolerance: float) -> bool:
        """True while a backlog waits and the newest event evaluated is older than
        ``tolerance``: timers would judge silence that is only the pipeline's delay."""
        return pending > 0 and now - self.newest_received > tolerance

    async def tick(self, now: float) -> None:
        """Run the agents' timers (absence, hold) and publish what they conclude."""
        async with self._lock:
            if self.closed or self.moved:
                return
            detections: list[Detection] = []
            for agent in self.agents.values():
                detections.extend(agent.engine.tick(now))
            if detections:
                await self.publish(detections, f"tick.{self.key}.{detections[-1].finding.id}")
                self._dirty = True

    async def publish(self, detections: Sequence[Detection], origin: str) -> None:
        """Publish findings per agent; message ids derive from ``origin`` (idempotent)."""
        if not detections:
            return
        self._dirty = True
        by_agent: dict[str, list[Finding]] = defaultdict(list)
        for detection in detections:
            by_agent[detection.finding.agent].append(detection.finding)
        for agent, findings in by_agent.items():
            msg_id = f"{origin}.{agent}"
            send = functools.partial(
                self._bus.publish,
                subjects.findings(agent),
                FindingBatch(msg_id, findings),
                msg_id=msg_id,
            )
            await self._retrying(send, "publish findings")
            self._metrics.findings.labels(agent).inc(len(findings))

    async def save(self) -> None:
        """Save the agents' state if it may have changed since the last save."""
        async with self._lock:
            if self._dirty and not (self.closed or self.moved):
                await self._save_now()

    async def _save_now(self) -> None:
        if not self._keep_state:
            self._dirty = False
            return
        states = {name: agent.engine.snapshot() for name, agent in self.agents.items()}
        states[_BATCHES] = msgspec.msgpack.encode(list(self._done))
        state = _encode_state(states)

        async def write() -> None:
            async with self._sessions() as session:
                kept = await save_state(session, self.key, state, time.time(), self._epoch)
                await session.commit()
            if not kept:
                self.moved = True

        await self._retrying(write, "save agent state")
        if self.moved:
            log.error("partition %s was claimed by another worker; this one stops", self.key)
            raise PartitionMoved(f"partition {self.key} has another owner")
        self._dirty = False

    async def _retrying(self, operation: Callable[[], Awaitable[None]], what: str) -> None:
        """Run ``operation`` until it succeeds, waiting out an unreachable bus or database
        (with growing pauses); give up only when the runner is being stopped."""
        pause = 0.2
        while True:
            try:
                await operation()
                return
            except (BusError, SQLAlchemyError, OSError) as exc:
                if self.closed:
                    raise
                log.warning("agents of %s cannot %s yet (%r); retrying", self.key, what, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)

    def _remember(self, batch: EventBatch) -> None:
        self._done[batch.id] = None
        if len(self._done) > REMEMBERED_BATCHES:
            del self._done[next(iter(self._done))]
        newest = batch.events[-1].received_at
        self.newest_received = max(self.newest_received, newest)
        self._metrics.observe_lag("agents", newest)

    def _evaluate(self, batch: EventBatch) -> list[Detection]:
        detections: list[Detection] = []
        for agent in self.agents.values():
            try:
                found = agent.handle(batch.events)
            except Exception:
                found = self._one_by_one(agent, batch)
            if found:
                detections.extend(found)
        if self._save_each_batch or any(a.engine.state_size() for a in self.agents.values()):
            self._dirty = True
        return detections

    def _one_by_one(self, agent: BaseAgent, batch: EventBatch) -> list[Detection]:
        """An agent failed on a batch (a defect, not bad data: a retry would fail alike and
        end as poison). Evaluate the batch event by event and skip only the events it fails
        on, logged and counted; the events themselves are stored by the store stage. Events
        before the failing one may count twice in this agent's windows: the price of
        keeping the rest of the batch."""
        log.exception(
            "agent %s failed on batch %s; evaluating it event by event", agent.name, batch.id
        )
        found: list[Detection] = []
        for event in batch.events:
            try:
                found.extend(agent.handle([event]))
            except Exception as exc:
                self._metrics.agent_errors.labels(agent.name).inc()
                log.error("agent %s skipped event %s: %r", agent.name, event.id, exc)
        return found

    def _restore(self, saved: bytes) -> None:
        try:
            states = _decode_state(saved)
            done = msgspec.msgpack.decode(states.pop(_BATCHES, b"\x90"), type=list[str])
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("agent state of partition %s is unreadable; starting empty", self.key)
            return
        self._done = dict.fromkeys(done[-REMEMBERED_BATCHES:])
        for name, data in states.items():
            agent = self.agents.get(name)
            if agent is not None:
                agent.engine.restore(data)
