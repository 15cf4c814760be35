"""The agents of one partition: their engines, their saved state and their bus consumer.

Embedded mode runs one runner for everything (partition ``all``, durable ``agents`` on
``events.>``); distributed mode runs one per owned partition (``agents-p<k>`` on
``events.*.<k>``). A runner evaluates each delivered batch, publishes the findings per agent
on ``findings.<agent>``, saves its state when it changed and only then returns, so the bus
acknowledges the batch after both: a crash replays the batch from the state that preceded it
and yields the same findings (their ids are derived from the evidence; the bus and the store
drop the duplicates). In embedded mode a crash loses the in-process queues anyway, so there
the state is saved by the timer (``save_each_batch=False``) and when the runner stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.agents.agent import BaseAgent, build_agents
from opsconductor.agents.engine import Detection
from opsconductor.agents.rules import Rule
from opsconductor.agents.state import load_state, save_state
from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.messages import EventBatch, Finding, FindingBatch
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)
_encode_state = msgspec.msgpack.Encoder().encode
_decode_state = msgspec.msgpack.Decoder(dict[str, bytes]).decode


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
    ) -> None:
        self.key = key
        self._save_each_batch = save_each_batch
        self._consumer = consumer
        self._bus = bus
        self._sessions = sessions
        self._metrics = metrics
        self.agents: dict[str, BaseAgent] = build_agents(rules)
        self._subscription: Subscription | None = None
        self._dirty = False
        self._lock = asyncio.Lock()  # batches, timers and reloads take turns on the state
        self._seconds = metrics.batch_seconds.labels("agents")

    async def start(self) -> None:
        """Restore the saved state, then start consuming."""
        async with self._sessions() as session:
            saved = await load_state(session, self.key)
        if saved is not None:
            self._restore(saved)
        self._subscription = await self._bus.consume(*self._consumer, self.handle, max_batch=8)

    async def stop(self) -> None:
        """Stop after the batch in hand and save the state for the next owner."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
        await self.save(force=True)

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
            for delivery in deliveries:
                batch = delivery.message
                if isinstance(batch, EventBatch) and batch.events:
                    detections = self._evaluate(batch)
                    await self.publish(detections, batch.id)
                    self._metrics.observe_lag("agents", batch.events[-1].received_at)
            if self._save_each_batch:
                await self.save()
        self._seconds.observe(time.perf_counter() - started)

    async def tick(self, now: float) -> None:
        """Run the agents' timers (absence, hold) and publish what they conclude."""
        async with self._lock:
            detections: list[Detection] = []
            for agent in self.agents.values():
                detections.extend(agent.engine.tick(now))
            if detections:
                key = detections[-1].finding.id
                await self.publish(detections, f"tick.{self.key}.{key}")
                await self.save()

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
            await self._bus.publish(
                subjects.findings(agent), FindingBatch(msg_id, findings), msg_id=msg_id
            )
            self._metrics.findings.labels(agent).inc(len(findings))

    async def save(self, *, force: bool = False) -> None:
        """Save the agents' state if it may have changed since the last save."""
        if not (self._dirty or force):
            return
        state = _encode_state({name: a.engine.snapshot() for name, a in self.agents.items()})
        async with self._sessions() as session:
            await save_state(session, self.key, state, time.time())
            await session.commit()
        self._dirty = False

    def _evaluate(self, batch: EventBatch) -> list[Detection]:
        detections: list[Detection] = []
        for agent in self.agents.values():
            try:
                found = agent.handle(batch.events)
            except Exception:
                found = self._one_by_one(agent, batch)
            if found:
                detections.extend(found)
        if any(agent.engine.state_size() for agent in self.agents.values()):
            self._dirty = True
        return detections

    def _one_by_one(self, agent: BaseAgent, batch: EventBatch) -> list[Detection]:
        """An agent failed on a batch (a defect, not bad data: a retry would fail alike and
        end as poison). Evaluate the batch event by event and skip only the events it fails
        on, logged and counted; the events themselves are stored by the store stage."""
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
        except msgspec.DecodeError:
            log.error("agent state of partition %s is unreadable; starting empty", self.key)
            return
        for name, data in states.items():
            agent = self.agents.get(name)
            if agent is not None:
                agent.engine.restore(data)
