"""The agents stage: rules from the database, one runner per partition, reloads and timers.

Embedded mode runs one ``PartitionRunner`` for every device. Distributed mode (JetStream and
PostgreSQL) runs one runner per partition this worker owns; ownership is balanced between the
live workers with advisory locks (``leases.py``), re-checked every ``REBALANCE_SECONDS``. A
rule change anywhere (API, ``opsconductor rules load``) is announced on
``control.reload.rules``; every agents process reloads its rules from the database and applies
them to its running engines without a restart. The timer also compares the rules' version in
the database, so a change nobody announced (a CLI in embedded mode, a lost message) is picked
up within ``OPSC_AGENT_TICK_SECONDS``.

At start the stage registers its agents in the ``agents`` table; an agent an operator
disabled there gets no rules (so it reports nothing) until it is enabled again, which the API
announces on ``control.reload.agents``. Every ``OPSC_AGENT_TICK_SECONDS`` each agent sends a
heartbeat on ``status.<agent>`` (``stopped`` when disabled, and when the stage stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from opsconductor.agents.leases import PartitionLeases
from opsconductor.agents.packs import builtin_packs
from opsconductor.agents.registry import agent_definitions, disabled_agents, register_agents
from opsconductor.agents.repository import enabled_rules, rules_version, seed_packs
from opsconductor.agents.rules import AGENTS, Rule
from opsconductor.agents.runner import PartitionRunner
from opsconductor.bus import subjects
from opsconductor.bus.control import listen_for_reloads, reload_kinds
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.config import Settings
from opsconductor.errors import ConfigError
from opsconductor.heartbeats import HeartbeatLoop, heartbeat
from opsconductor.messages import Heartbeat
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)

REBALANCE_SECONDS = 2.0
"""How often a distributed agents worker re-checks which partitions it should own."""
EMBEDDED_PARTITION = "all"


class AgentStage:
    """Runs the domain agents over the events and publishes their findings."""

    name = "agents"

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        *,
        keep_state: bool = True,
    ) -> None:
        self._settings = settings
        self._keep_state = keep_state
        self._bus = bus
        self._engine = engine
        self._sessions = sessions
        self._metrics = metrics
        self._rules: list[Rule] = []
        self._version: tuple[tuple[int, float, int], frozenset[str]] | None = None
        self._disabled: frozenset[str] = frozenset()
        self.runners: dict[str, PartitionRunner] = {}
        self._leases: PartitionLeases | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._control: Subscription | None = None
        self._heartbeats = HeartbeatLoop(
            bus, settings.agent_tick_seconds, self._beats, "agents-heartbeats"
        )

    @property
    def partitioned(self) -> bool:
        """True when partitions are shared out between workers (distributed mode)."""
        return self._settings.distributed

    async def start(self) -> None:
        """Listen for reloads, seed and load the rules, take partitions, start the timers."""
        if self.partitioned and self._engine.dialect.name != "postgresql":
            raise ConfigError(
                "distributed agents need PostgreSQL (OPSC_DATABASE_URL): workers share the "
                "device partitions with its advisory locks"
            )
        self._control = await listen_for_reloads(self._bus, "agents", self._on_control)
        await self._load_rules(seed=True)
        if self.partitioned:
            self._leases = PartitionLeases(self._engine, self._settings.agent_partitions)
            await self._leases.open()
            await self._rebalance()
            self._tasks.append(asyncio.create_task(self._rebalance_loop(), name="agents-leases"))
        else:
            await self._start_runner(EMBEDDED_PARTITION, subjects.AGENTS_CONSUMER)
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="agents-timers"))
        await self._heartbeats.start()

    async def stop(self) -> None:
        """Stop timers and consumers; save every partition's state; give the partitions back."""
        await self._heartbeats.stop([heartbeat(name, "agent", "stopped") for name in AGENTS])
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._control is not None:
            await self._control.stop()
            self._control = None
        for key in list(self.runners):
            await self.runners.pop(key).stop()
        if self._leases is not None:
            await self._leases.close()
            self._leases = None
        self._metrics.partitions_owned.set(0)

    async def reload(self) -> None:
        """Load the enabled rules from the database into every running engine."""
        await self._load_rules(seed=False)
        for runner in list(self.runners.values()):
            await runner.reload(self._rules)
        self._metrics.rule_reloads.inc()
        log.info("agents reloaded %d enabled rules", len(self._rules))
        await self._heartbeats.beat()

    async def _load_rules(self, *, seed: bool) -> None:
        async with self._sessions() as session:
            if seed:
                await seed_packs(session, builtin_packs(), time.time())
                await register_agents(session, agent_definitions(), time.time())
                await session.commit()
            self._version = await self._current_version(session)
            self._disabled = self._version[1]
            rules = await enabled_rules(session)
        self._rules = [rule for rule in rules if rule.agent not in self._disabled]

    async def _current_version(
        self, session: AsyncSession
    ) -> tuple[tuple[int, float, int], frozenset[str]]:
        return await rules_version(session), await disabled_agents(session)

    async def _rules_changed(self) -> bool:
        async with self._sessions() as session:
            return await self._current_version(session) != self._version

    async def _on_control(self, deliveries: Sequence[Delivery]) -> None:
        kinds = reload_kinds(deliveries)
        if kinds & {"rules", "agents"}:
            await self.reload()

    async def _beats(self) -> list[Heartbeat]:
        """One beat per agent: ``stopped`` if disabled, else ``ok`` with its rule count."""
        counts = {name: 0 for name in AGENTS}
        for rule in self._rules:
            counts[rule.agent] = counts.get(rule.agent, 0) + 1
        partitions = sorted(self.runners)
        return [
            heartbeat(
                name,
                "agent",
                "stopped" if name in self._disabled else "ok",
                {"rules": counts[name], "partitions": partitions},
            )
            for name in AGENTS
        ]

    async def _start_runner(self, key: str, consumer: tuple[str, str]) -> None:
        runner = PartitionRunner(
            key,
            consumer,
            self._bus,
            self._sessions,
            self._metrics,
            self._rules,
            save_each_batch=self.partitioned,
            keep_state=self._keep_state,
        )
        await runner.start()
        self.runners[key] = runner
        self._metrics.partitions_owned.set(len(self.runners))
        if await self._rules_changed():  # a reload while it started passed it by
            await self.reload()

    async def _rebalance(self) -> None:
        """Drop partitions another worker took, give back those beyond the fair share, then
        take free ones up to it."""
        leases = self._leases
        assert leases is not None
        for key in [key for key, runner in self.runners.items() if runner.moved]:
            await self.runners.pop(key).stop(save=False)
            await leases.release(int(key))
        for partition in await leases.surplus():
            surplus = self.runners.pop(str(partition), None)
            if surplus is not None:
                await surplus.stop()  # saves the state before the lock goes
            await leases.release(partition)
            log.info("agents released partition %d", partition)
        for partition in await leases.acquire():
            try:
                consumer = subjects.agent_partition_consumer(partition)
                await self._start_runner(str(partition), consumer)
            except Exception:
                await leases.release(partition)
                raise
            log.info("agents took partition %d", partition)
        self._metrics.partitions_owned.set(len(self.runners))

    async def _rebalance_loop(self) -> None:
        while True:
            await asyncio.sleep(REBALANCE_SECONDS)
            try:
                await self._rebalance()
            except Exception:
                log.exception("agents could not check their partitions; stepping back")
                await self._step_back()

    async def _step_back(self) -> None:
        """The lease connection failed: the locks may be gone and another worker may own the
        partitions by now, so stop every runner without saving and rejoin afresh."""
        for key in list(self.runners):
            with contextlib.suppress(Exception):
                await self.runners.pop(key).stop(save=False)
        if self._leases is not None:
            with contextlib.suppress(Exception):
                await self._leases.close()
            with contextlib.suppress(Exception):
                await self._leases.open()
        self._metrics.partitions_owned.set(0)

    async def _tick_loop(self) -> None:
        interval = self._settings.agent_tick_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                if await self._rules_changed():
                    await self.reload()
            except Exception:
                log.exception("agents could not check the rules for changes")
            for runner in list(self.runners.values()):
                await self._tick(runner, interval)

    async def _tick(self, runner: PartitionRunner, interval: float) -> None:
        """Run a runner's timers unless it is working through a backlog (then silence is
        the pipeline's delay, not the device's), and save its state."""
        now = time.time()
        pending = self._bus.pending().get(runner.durable, 0)
        try:
            if not runner.behind(pending, now, tolerance=max(10.0, 3 * interval)):
                await runner.tick(now)
            await runner.save()
        except Exception:
            log.exception("agent timers of partition %s failed", runner.key)
