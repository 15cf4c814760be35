"""The API on a real store and a real in-process bus, called in process through ASGI.

Every test runs on SQLite and on PostgreSQL (a fresh, migrated database per test; skipped when
PostgreSQL is unreachable, unless ``OPSC_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import ADMIN_PASSWORD, create_test_database, drop_test_database

from opsconductor.api.app import create_app
from opsconductor.api.context import AppContext
from opsconductor.api.security import gatekeeper
from opsconductor.auth.users import NewUser, create_user
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.protocol import Delivery, Subscription
from opsconductor.config import Settings
from opsconductor.observability import Metrics
from opsconductor.store import create_engine, session_factory, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind the test runs on."""
    return str(request.param)


@pytest.fixture
async def api_db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of ``backend``."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
        await upgrade(url)
        yield url
        return
    url = await create_test_database()
    try:
        await upgrade(url)
        yield url
    finally:
        await drop_test_database(url)


async def user_token(context: AppContext, username: str, role: str) -> str:
    """Create user ``username`` with ``role`` (password ``ADMIN_PASSWORD``); its access token."""
    assert context.sessions is not None
    async with context.sessions() as session:
        user = await create_user(session, NewUser(username, ADMIN_PASSWORD, role), time.time())
        await session.commit()
    gate = await gatekeeper(context)
    token, _ = gate.issuer.issue(user["id"], username, role, time.time())
    return token


@dataclass
class Recorder:
    """Every message a test consumer took from the bus, with its subject."""

    deliveries: list[Delivery] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, batch: Sequence[Delivery]) -> None:
        """The bus handler: keep the deliveries."""
        self.deliveries.extend(batch)
        self._arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """The first ``count`` deliveries, waiting for them to arrive."""
        async with asyncio.timeout(timeout):
            while len(self.deliveries) < count:
                self._arrived.clear()
                await self._arrived.wait()
        await asyncio.sleep(0.02)  # let anything unexpected arrive too
        return list(self.deliveries)


@dataclass
class Api:
    """A client of the app, its database sessions and recorders of what it publishes."""

    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    bus: MemoryBus
    control: Recorder
    alerts: Recorder
    context: AppContext

    async def token_for(self, role: str, username: str | None = None) -> str:
        """An access token of a new user with ``role``."""
        return await user_token(self.context, username or f"{role}-user", role)


@pytest.fixture
async def api(api_db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The full app over ``api_db_url`` and a ``MemoryBus`` whose control and alert subjects
    are recorded."""
    engine = create_engine(api_db_url)
    bus = MemoryBus()
    await bus.start()
    control, alerts = Recorder(), Recorder()
    subscriptions: list[Subscription] = [
        await bus.consume("control.>", "test-control", control.handle),
        await bus.consume("alerts.>", "test-alerts", alerts.handle),
    ]
    sessions = session_factory(engine)
    context = AppContext(Settings(data_dir=tmp_path), bus, Metrics(), engine, sessions)
    transport = httpx.ASGITransport(app=create_app(context))
    token = await user_token(context, "admin", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as client:
            yield Api(client, sessions, bus, control, alerts, context)
    finally:
        for subscription in subscriptions:
            await subscription.stop()
        await bus.close()
        await engine.dispose()
