"""Fixtures of the alert engine tests: a migrated database per backend (SQLite, PostgreSQL).

PostgreSQL gets one fresh database per test session (migrated once, emptied before each test);
SQLite a file in ``tmp_path``. An unreachable PostgreSQL skips its tests (or fails them under
``OPSC_REQUIRE_SERVICES=1``), like the store tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import migrated_pg_database

from opsconductor.store import create_engine, session_factory, upgrade

T = TypeVar("T")
_TABLES = "findings, alerts, alert_history, silences, maintenance_windows, devices"


@pytest.fixture(scope="session")
def alerts_pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session's alert tests."""
    yield from migrated_pg_database()


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
