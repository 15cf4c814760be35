"""Migrations, engine options and the readiness probe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from opsconductor.errors import ConfigError
from opsconductor.store import create_engine, ping, upgrade
from opsconductor.store.engine import MIGRATIONS_DIR
from opsconductor.store.tables import metadata

FreshDatabase = Callable[[], AbstractAsyncContextManager[str]]
EXPECTED_TABLES = {"alembic_version", *metadata.tables}


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path, fresh_pg: FreshDatabase) -> AsyncIterator[str]:
    """A database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'empty.db'}"
        return
    async with fresh_pg() as url:
        yield url


async def _tables_and_version(url: str) -> tuple[set[str], str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).one()
    finally:
        await engine.dispose()
    return names, version[0]


async def test_upgrade_creates_schema_and_is_idempotent(empty_url: str) -> None:
    await upgrade(empty_url)
    first = await _tables_and_version(empty_url)
    await upgrade(empty_url)
    assert await _tables_and_version(empty_url) == first
    assert first[0] == EXPECTED_TABLES
    assert first[1] == "0008"


async def test_migrations_build_the_declared_tables(empty_url: str) -> None:
    """The migrations and ``tables.py`` describe the same columns."""
    await upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: {
                    name: {col["name"] for col in sa.inspect(c).get_columns(name)}
                    for name in metadata.tables
                }
            )
    finally:
        await engine.dispose()
    assert found == {name: set(t.columns.keys()) for name, t in metadata.tables.items()}


async def test_migrations_build_the_declared_indexes(empty_url: str) -> None:
    """Every index ``tables.py`` declares exists after the migrations, on the same columns."""
    await upgrade(empty_url)
    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: {
                    index["name"]: tuple(index["column_names"])
                    for name in metadata.tables
                    for index in sa.inspect(c).get_indexes(name)
                }
            )
    finally:
        await engine.dispose()
    declared = {
        str(index.name): tuple(column.name for column in index.columns)
        for table in metadata.tables.values()
        for index in table.indexes
    }
    assert {name: found.get(name) for name in declared} == declared


async def test_ping_answers(engine: AsyncEngine) -> None:
    assert await ping(engine) is True


async def test_ping_false_when_unreachable() -> None:
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        assert await ping(engine, within=5) is False
    finally:
        await engine.dispose()


async def test_sqlite_connection_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
    finally:
        await engine.dispose()
    assert (mode, sync, keys) == ("wal", 1, 1)
    assert busy > 0


def test_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        create_engine("mysql://root@localhost/x")


def test_migration_scripts_ship_with_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
