"""What the HTTP edge needs from the running process, handed to the app factory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from opsconductor.bus.protocol import Bus
from opsconductor.config import Settings
from opsconductor.observability import Metrics


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
