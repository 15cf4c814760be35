"""Fixtures of the store tests: every test runs on SQLite and on PostgreSQL.

SQLite lives in ``tmp_path``. PostgreSQL (``$OPSC_TEST_PG_URL``, default the local server)
gets one fresh ``opsc_test_<random>`` database per test session, migrated once and emptied
before each test, and dropped at the end. When PostgreSQL is unreachable its tests skip,
unless ``OPSC_REQUIRE_SERVICES=1``, which turns the skip into a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.conftest import create_test_database, drop_test_database, migrated_pg_database

from opsconductor.ids import ulid_block
from opsconductor.inventory.identity import device_id, peer_address
from opsconductor.messages import Event
from opsconductor.store import create_engine, session_factory, upgrade

T = TypeVar("T")


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for the block; yields its URL, drops it afterwards."""
    url = await create_test_database()
    try:
        yield url
    finally:
        await drop_test_database(url)


@pytest.fixture
def fresh_pg() -> Callable[[], AbstractAsyncContextManager[str]]:
    """``fresh_pg_database``, for tests that need an empty PostgreSQL database of their own."""
    return fresh_pg_database


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One migrated PostgreSQL database shared by the session's tests (emptied per test)."""
    yield from migrated_pg_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind the test runs on."""
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of a migrated, empty database of ``backend``."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        await upgrade(url)
        return url
    url = str(request.getfixturevalue("pg_session_url"))
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("TRUNCATE events, devices, dead_letters, audit_log")
    finally:
        await conn.close()
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, disposed afterwards."""
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory of the test database."""
    return session_factory(engine)


EventMaker = Callable[..., Event]


@pytest.fixture
def make_event() -> EventMaker:
    """Build an ``Event`` with sensible defaults; keyword arguments override any field."""
    ids = iter(ulid_block(100_000, 1_700_000_000.0))

    def build(**overrides: Any) -> Event:
        peer = overrides.get("peer", "192.0.2.10:514")
        host = overrides.get("host", "ap-1")
        fields: dict[str, Any] = {
            "id": next(ids),
            "received_at": 1_700_000_000.0,
            "timestamp": 1_700_000_000.0,
            "source": "syslog-udp",
            "peer": peer,
            "device_id": device_id(peer_address(peer), host),
            "host": host,
            "facility": 3,
            "severity": 6,
            "program": "hostapd",
            "procid": "1234",
            "msgid": "",
            "message": "wlan0: STA 00:11:22:33:44:55 IEEE 802.11: associated",
            "structured_data": {},
            "extra": {},
            "format": "rfc3164",
            "parse_status": "ok",
            "domain": "wifi",
        }
        fields.update(overrides)
        return Event(**fields)

    return build
