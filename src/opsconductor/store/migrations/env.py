"""Alembic environment of the store.

``opsconductor.store.engine.upgrade`` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line (for writing new revisions)
instead connects to ``sqlalchemy.url`` or, when unset, ``$OPSC_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
from alembic import context

from opsconductor.store.tables import metadata


def _run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    from opsconductor.store.engine import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("OPSC_DATABASE_URL")
    if not url:
        raise RuntimeError("set sqlalchemy.url or OPSC_DATABASE_URL to run migrations")
    asyncio.run(_run_standalone(url))


_main()
