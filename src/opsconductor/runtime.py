"""Wires the stages for ``opsconductor up`` (all in one process) and ``run <stage>`` (one).

The bus and the session factory are the only things that differ between the two deployments;
each stage gets them from here and never learns which it runs on.

Every ``OPSC_AGENT_TICK_SECONDS`` the runtime sends a heartbeat on ``status.<stage>`` for each
stage of its process (``stopped`` for one that is configured but not running). The API's
``/system/control`` starts and stops the stages of its own process through ``RuntimeControl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from opsconductor.addons.repository import seed_shipped
from opsconductor.api.app import create_app
from opsconductor.api.context import AppContext, StageNotHere, UnknownStage
from opsconductor.api.ws import stop_live_feed
from opsconductor.auth.bootstrap import ensure_admin
from opsconductor.bus.factory import create_bus
from opsconductor.bus.protocol import Bus
from opsconductor.config import Settings
from opsconductor.errors import ConfigError
from opsconductor.heartbeats import HeartbeatBoard, HeartbeatLoop, heartbeat
from opsconductor.ingest.service import IngestStage
from opsconductor.messages import Heartbeat
from opsconductor.observability import Metrics
from opsconductor.parse.consumer import ParseStage
from opsconductor.parse.service import Parser
from opsconductor.stages import STAGES
from opsconductor.store import create_engine, session_factory, upgrade
from opsconductor.store.consumer import StoreStage

log = logging.getLogger(__name__)

__all__ = ["STAGES", "Runtime", "RuntimeControl"]

_HTTP_GRACE_SECONDS = 5
"""Longest wait for open requests and connections at shutdown (a client that stopped reading
would otherwise hold it)."""
_NEEDS_DATABASE = frozenset({"store", "alerts", "agents", "api"})


class Stage(Protocol):
    """What the runtime needs of a stage."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    """A set of stages sharing one bus, one database engine and one metrics registry."""

    settings: Settings
    stages: tuple[str, ...] = STAGES
    migrate: bool = True
    #: whether the agents keep their state in the database (not for a one-off replay run
    #: beside a running product, which must not take the product's state over)
    agent_state: bool = True
    metrics: Metrics = field(default_factory=Metrics)
    bus: Bus | None = None
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    running: dict[str, Stage] = field(default_factory=dict)
    #: shared by the alert engine and the API's alert actions on SQLite (see AppContext)
    alert_lock: asyncio.Lock | None = None
    http_url: str | None = None
    #: the first admin's password when this start generated it (printed once by the CLI)
    generated_admin_password: str | None = None
    _server: uvicorn.Server | None = None
    _server_task: asyncio.Task[None] | None = None
    _heartbeats: HeartbeatLoop | None = None
    _board: HeartbeatBoard | None = None

    @classmethod
    def for_stages(cls, settings: Settings, names: Iterable[str], **kwargs: object) -> Runtime:
        """A runtime for the named stages, checked against the known ones."""
        wanted = tuple(name for name in STAGES if name in set(names))
        unknown = set(names) - set(STAGES)
        if unknown:
            raise ConfigError(
                f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(STAGES)}"
            )
        return cls(settings, wanted, **kwargs)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Connect, migrate, then start each stage and the HTTP server."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.settings.distributed and "store" in self.stages:
            # The SQLite writer thread gives the GIL back at every row it inserts. With the
            # default 5 ms switch interval it then waits up to 5 ms for the busy event loop,
            # and inserts run ~20x slower; 1 ms keeps both threads moving (bench/pipeline.py).
            sys.setswitchinterval(0.001)
        self.bus = create_bus(self.settings)
        await self.bus.start()
        self._register_bus_metrics(self.bus)
        if _NEEDS_DATABASE & set(self.stages):
            url = self.settings.effective_database_url
            if self.migrate:
                await upgrade(url)
            self.engine = create_engine(url)
            self.sessions = session_factory(self.engine)
            if self.engine.dialect.name == "sqlite":
                self.alert_lock = asyncio.Lock()
            if "api" in self.stages:
                self.generated_admin_password = await ensure_admin(
                    self.sessions, _secret(self.settings.admin_password)
                )
                await seed_shipped(self.sessions)
        for name in self.stages:
            if name != "api":
                stage = self._build(name)
                await stage.start()
                self.running[name] = stage
        await self._start_http()
        await self._start_heartbeats()

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop taking records in, let the queues empty, then stop the rest and disconnect.

        HTTP and the receivers stop first; what they accepted is still queued in process, so
        the runtime waits (up to ``drain_timeout``) for parse and store to finish it before
        stopping them. Every stage is stopped and the bus and database are closed even if
        one stage fails to stop.
        """
        try:
            await self._stop_heartbeats()
            await self._stop_http()
            ingest = self.running.pop("ingest", None)
            if ingest is not None:
                await ingest.stop()
            # In process, queued records live only in memory; on JetStream they stay in the
            # stream for the next consumer, so there is nothing to wait for.
            embedded = not self.settings.distributed
            if (
                embedded
                and self.bus is not None
                and self.running
                and not await self.idle(drain_timeout)
            ):
                log.error("shutting down with records queued: %s", self.bus.pending())
            for name in reversed(list(self.running)):
                try:
                    await self.running.pop(name).stop()
                except Exception:
                    log.exception("stage %s did not stop cleanly", name)
        finally:
            if self.bus is not None:
                await self.bus.close()
            if self.engine is not None:
                await self.engine.dispose()

    async def _stop_http(self) -> None:
        if self._server is not None and self._server_task is not None:
            await stop_live_feed(self._server.config.app)  # WebSockets close with 1001
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._server_task

    async def _start_heartbeats(self) -> None:
        assert self.bus is not None
        interval = self.settings.agent_tick_seconds
        self._heartbeats = HeartbeatLoop(self.bus, interval, self._stage_beats, "stage-beats")
        await self._heartbeats.start()

    async def _stop_heartbeats(self) -> None:
        if self._heartbeats is not None:
            final = [heartbeat(name, "stage", "stopped") for name in self.stages]
            await self._heartbeats.stop(final)
            self._heartbeats = None
        if self._board is not None:
            await self._board.stop()
            self._board = None

    async def _stage_beats(self) -> list[Heartbeat]:
        """One beat per stage of this process: ``ok`` while it runs, else ``stopped``."""
        running = set(self.running) | ({"api"} if self.http_url else set())
        return [
            heartbeat(name, "stage", "ok" if name in running else "stopped") for name in self.stages
        ]

    async def idle(self, timeout: float = 60.0) -> bool:
        """Wait until every queue of this process is empty (used by replay and tests)."""
        assert self.bus is not None
        deadline = asyncio.get_running_loop().time() + timeout
        ingest = self.running.get("ingest")
        if isinstance(ingest, IngestStage):
            await ingest.drain()
        while asyncio.get_running_loop().time() < deadline:
            if not any(self.bus.pending().values()):
                return True
            await asyncio.sleep(0.02)
        return False

    def _register_bus_metrics(self, bus: Bus) -> None:
        self.metrics.add_gauge_source(
            "opsc_queue_depth",
            "Messages waiting or in hand, per durable consumer.",
            "consumer",
            lambda: {name: float(depth) for name, depth in bus.pending().items()},
        )
        self.metrics.add_gauge_source(
            "opsc_bus_messages",
            "Bus totals since start: published, duplicates, rejected, redelivered, poison.",
            "kind",
            lambda: {
                kind: float(getattr(bus.counters, kind))
                for kind in ("published", "duplicates", "rejected", "redelivered", "poison")
            },
        )

    def _build(self, name: str) -> Stage:
        assert self.bus is not None
        s = self.settings
        if name == "ingest":
            return IngestStage(s, self.bus, self.metrics)
        if name == "parse":
            parser = Parser(s.default_timezone, s.classification_file, s.syslog_max_message_bytes)
            return ParseStage(self.bus, parser, self.metrics, partitions=s.agent_partitions)
        if name == "store":
            assert self.sessions is not None
            return StoreStage(
                self.bus,
                self.sessions,
                self.metrics,
                retention_days=s.retention_days,
                retention_interval=s.retention_interval_seconds,
                findings_retention_days=s.findings_retention_days,
            )
        if name in ("agents", "alerts"):
            return self._build_brain(name)
        raise ConfigError(f"unknown stage {name!r}")

    def _build_brain(self, name: str) -> Stage:
        """The agents (events → findings) or the alert engine (findings → alerts)."""
        assert self.bus is not None and self.engine is not None and self.sessions is not None
        if name == "agents":
            from opsconductor.agents.consumer import AgentStage

            return AgentStage(
                self.settings,
                self.bus,
                self.engine,
                self.sessions,
                self.metrics,
                keep_state=self.agent_state,
            )
        from opsconductor.alerts.consumer import AlertStage

        return AlertStage(
            self.settings, self.bus, self.sessions, self.metrics, write_lock=self.alert_lock
        )

    async def _start_http(self) -> None:
        if not self.settings.http_port:
            return
        assert self.bus is not None
        context = AppContext(self.settings, self.bus, self.metrics, self.engine, self.sessions)
        context.alert_lock = self.alert_lock
        context.control = RuntimeControl(self)
        if "api" in self.stages:
            self._board = context.heartbeats = HeartbeatBoard()
            await self._board.start(self.bus)
        app = create_app(context, full="api" in self.stages)
        config = uvicorn.Config(
            app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=_HTTP_GRACE_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._server_task = asyncio.create_task(self._server.serve(), name="http")
        while not self._server.started:
            if self._server_task.done():
                with contextlib.suppress(SystemExit, Exception):
                    await self._server_task
                raise ConfigError(
                    f"cannot serve HTTP on {self.settings.http_host}:{self.settings.http_port}"
                )
            await asyncio.sleep(0.01)
        host = self.settings.http_host
        shown = f"[{host}]" if ":" in host else host
        self.http_url = f"http://{shown}:{self.settings.http_port}"

    def listening(self) -> list[tuple[str, str]]:
        """(what, where) for every listener of this process."""
        out: list[tuple[str, str]] = []
        if self.http_url:
            out.append(
                ("API and UI" if "api" in self.stages else "health and metrics", self.http_url)
            )
        ingest = self.running.get("ingest")
        if isinstance(ingest, IngestStage):
            out.extend((listener.source, listener.address) for listener in ingest.listeners)
        return out


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class RuntimeControl:
    """Starts, stops and restarts the stages of one ``Runtime`` (the API's stage control).

    Only the stages the runtime was configured with can be controlled here (``StageNotHere``
    for the others: in a distributed deployment their process manager runs them); the HTTP
    server itself is not stopped from here.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = asyncio.Lock()

    def _check(self, stage: str) -> None:
        if stage not in STAGES:
            raise UnknownStage(f"no stage {stage!r}; stages: {', '.join(STAGES)}")
        if stage not in self._runtime.stages:
            raise StageNotHere(
                f"stage {stage!r} does not run in this process; use the process manager "
                "(systemd, Kubernetes…) of the process that runs it"
            )
        if stage == "api":
            raise StageNotHere("the API serves this request: it cannot start or stop itself")

    async def start(self, stage: str) -> None:
        """Start ``stage`` unless it runs already."""
        self._check(stage)
        async with self._lock:
            runtime = self._runtime
            if stage in runtime.running:
                return
            built = runtime._build(stage)
            await built.start()
            runtime.running[stage] = built
            order = [name for name in STAGES if name in runtime.running]
            runtime.running = {name: runtime.running[name] for name in order}
            log.info("stage %s started on request", stage)
        await self._beat()

    async def stop(self, stage: str) -> None:
        """Stop ``stage`` if it runs."""
        self._check(stage)
        async with self._lock:
            running = self._runtime.running.pop(stage, None)
            if running is not None:
                await running.stop()
                log.info("stage %s stopped on request", stage)
        await self._beat()

    async def restart(self, stage: str) -> None:
        """Stop ``stage`` and start it again."""
        await self.stop(stage)
        await self.start(stage)

    def running(self) -> list[str]:
        """The stages running in this process, the API included."""
        runtime = self._runtime
        api = ["api"] if runtime.http_url and "api" in runtime.stages else []
        return [name for name in STAGES if name in runtime.running] + api

    async def _beat(self) -> None:
        if self._runtime._heartbeats is not None:
            await self._runtime._heartbeats.beat()
