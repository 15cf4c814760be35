"""Engines, sessions, migrations and the readiness probe.

SQLite (``sqlite+aiosqlite``) is the embedded default; PostgreSQL (``postgresql+asyncpg``) the
distributed one. A plain ``sqlite://`` or ``postgresql://`` URL is given the async driver.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from opsconductor.errors import ConfigError, StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_MIGRATION_LOCK_KEY = 0x6F707363  # "opsc": serializes concurrent `upgrade` calls on PostgreSQL
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",  # 64 MiB of page cache per connection
)


def _json_serializer(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _async_url(url: str) -> URL:
    """``url`` with its async driver; ``ConfigError`` for anything but SQLite or PostgreSQL."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def create_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An async engine for ``url``; nothing connects until first use.

    SQLite gets WAL, ``synchronous=NORMAL``, a busy timeout and foreign keys on every
    connection, and its parent directory is created. PostgreSQL runs on asyncpg with pre-ping
    so connections dropped by a restart are replaced instead of failing a batch.
    """
    async_url = _async_url(url)
    options: dict[str, Any] = {
        "json_serializer": _json_serializer,
        "json_deserializer": msgspec.json.decode,
    }
    if async_url.get_backend_name() == "sqlite":
        if not _is_memory_sqlite(async_url):
            options["pool_size"] = pool_size
            Path(str(async_url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(async_url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    return _create_async_engine(async_url, pool_size=pool_size, pool_pre_ping=True, **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``; loaded objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config() -> Config:
    """The Alembic configuration of the store, built in code (there is no ``alembic.ini``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade_head(connection: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent; safe to call from a running loop).

    The migration runs on the connection of a private engine through ``run_sync``. On
    PostgreSQL a transaction-scoped advisory lock makes concurrent callers (replicas starting
    together) wait for each other instead of racing.
    """
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            await conn.run_sync(_upgrade_head, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"database migration failed: {exc}") from exc
    finally:
        await engine.dispose()


async def ping(engine: AsyncEngine, *, within: float = 5.0) -> bool:
    """True when the database answers a trivial query within ``within`` seconds (``/readyz``)."""
    try:
        async with asyncio.timeout(within), engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True
