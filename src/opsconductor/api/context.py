"""What the HTTP edge needs from the running process, handed to the app factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from opsconductor.bus.protocol import Bus
from opsconductor.config import Settings
from opsconductor.errors import Conflict, NotFound
from opsconductor.heartbeats import HeartbeatBoard
from opsconductor.observability import Metrics


class UnknownStage(NotFound):
    """No stage has this name (HTTP 404)."""


class StageNotHere(Conflict):
    """The stage cannot be started or stopped from this process (HTTP 409)."""


class StageControl(Protocol):
    """Starting and stopping the stages of this process (embedded mode: all of them).

    A stage this process does not run raises ``StageNotHere``; an unknown one
    ``UnknownStage``. Starting a running stage or stopping a stopped one changes nothing.
    """

    async def start(self, stage: str) -> None: ...

    async def stop(self, stage: str) -> None: ...

    async def restart(self, stage: str) -> None: ...

    def running(self) -> list[str]: ...


@dataclass
class AppContext:
    """Settings, bus, database and metrics of the process serving HTTP."""

    settings: Settings
    bus: Bus
    metrics: Metrics
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    #: name → readiness probe of each stage running in this process
    probes: dict[str, Callable[[], Awaitable[bool]]] = field(default_factory=dict)
    #: taken around every write to alerts in this process (embedded mode: SQLite does not
    #: lock the rows an alert decision reads, so operators' actions and the alert engine
    #: take turns here; PostgreSQL locks the rows and this stays ``None``)
    alert_lock: asyncio.Lock | None = None
    #: the authentication state (``api.security.Gatekeeper``), made on first use
    gate: Any = None
    #: starts and stops the stages of this process (set by the runtime)
    control: StageControl | None = None
    #: the latest heartbeat of every component, heard in this process (set by the runtime)
    heartbeats: HeartbeatBoard | None = None
