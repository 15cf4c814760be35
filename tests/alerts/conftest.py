"""Fixtures of the alert engine tests: a migrated database per backend (SQLite, PostgreSQL).

PostgreSQL gets one fresh database per test session (migrated once, emptied before each test);
SQLite a file in ``tmp_path``. An unreachable PostgreSQL skips its tests (or fails them under
``OPSC_REQUIRE_SERVICES=1``), like the store tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import create_test_database, drop_test_database

from opsconductor.store import create_engine, session_factory, upgrade

T = TypeVar("T")
_TABLES = "findings, alerts, alert_history, silences, maintenance_windows, devices"


def _in_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work()`` on a private loop in a thread (session fixtures are synchronous)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()


@pytest.fixture(scope="session")
def alerts_pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session's alert tests."""
    url = _in_thread(create_test_database)
    try:
        _in_thread(lambda: upgrade(url))
        yield url
    finally:
        _in_thread(lambda: drop_test_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an empty, migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'alerts.db'}"
        await upgrade(url)
    else:
        url = str(request.getfixturevalue("alerts_pg_url"))
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f"TRUNCATE {_TABLES}")
        finally:
            await conn.close()
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()
