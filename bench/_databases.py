"""Fresh databases for one benchmark run: SQLite in a data directory, or a PostgreSQL
database of its own on a server; the environment that points the product at each."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def migrate(url: str) -> None:
    """Apply the product's migrations to ``url``."""
    from opsconductor.store import upgrade

    asyncio.run(upgrade(url))


class Database:
    """Where one run keeps its data."""

    name = ""

    def create(self, workdir: Path) -> dict[str, str]:
        """Make a fresh database; the environment that points the product at it."""
        raise NotImplementedError

    def drop(self) -> None:
        """Remove what ``create`` made."""


class SqliteDatabase(Database):
    """A data directory of its own (the product makes ``opsconductor.db`` in it)."""

    name = "sqlite"

    def __init__(self, *, migrated: bool = False) -> None:
        self.migrated = migrated
        self.data_dir: Path | None = None

    @property
    def path(self) -> Path:
        """The SQLite file."""
        assert self.data_dir is not None
        return self.data_dir / "opsconductor.db"

    def create(self, workdir: Path) -> dict[str, str]:
        self.data_dir = workdir / f"data-{secrets.token_hex(4)}"
        if self.migrated:
            self.data_dir.mkdir(parents=True)
            migrate(f"sqlite:///{self.path}")
        return {"OPSC_DATA_DIR": str(self.data_dir)}

    def drop(self) -> None:
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


class PostgresDatabase(Database):
    """A database of its own on the PostgreSQL server at ``server`` (``postgresql://…``)."""

    name = "postgres"

    def __init__(self, server: str, *, migrated: bool = False) -> None:
        self.server = server.rstrip("/")
        self.migrated = migrated
        self.db: str | None = None

    def create(self, workdir: Path) -> dict[str, str]:
        self.db = f"opsc_bench_{secrets.token_hex(6)}"
        asyncio.run(self._admin(f'CREATE DATABASE "{self.db}"'))
        host = self.server.split("://", 1)[1]
        url = f"postgresql+asyncpg://{host}/{self.db}"
        if self.migrated:
            migrate(url)
        return {"OPSC_DATA_DIR": str(workdir / f"data-{self.db}"), "OPSC_DATABASE_URL": url}

    def run(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        """``work(connection)`` on an asyncpg connection to this run's database."""
        import asyncpg

        async def connected() -> Any:
            conn = await asyncpg.connect(f"{self.server}/{self.db}")
            try:
                return await work(conn)
            finally:
                await conn.close()

        return asyncio.run(connected())

    def drop(self) -> None:
        if self.db is not None:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
            self.db = None

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(f"{self.server}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
