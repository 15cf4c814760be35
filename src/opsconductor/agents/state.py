"""The agents' saved state: one row per partition in ``agent_state``.

Every function runs in the caller's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.store.tables import agent_state


async def load_state(session: AsyncSession, partition: str) -> bytes | None:
    """The state saved for ``partition``, or ``None`` when there is none."""
    result = await session.execute(
        sa.select(agent_state.c.state).where(agent_state.c.partition == partition)
    )
    saved = result.scalar_one_or_none()
    return None if saved is None else bytes(saved)


async def save_state(session: AsyncSession, partition: str, state: bytes, now: float) -> None:
    """Store ``state`` as the state of ``partition`` (insert or replace)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(agent_state).values(partition=partition, state=state, updated_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["partition"],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
    )
