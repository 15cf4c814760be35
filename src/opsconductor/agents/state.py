"""The agents' saved state: one row per partition in ``agent_state``, fenced by an epoch.

Whoever starts running a partition *claims* its row: the epoch goes up by one and the saved
state comes back. Every later save names that epoch and is refused once someone else has
claimed the row since — so a worker that lost its partition without noticing yet (its lease
connection dropped a moment ago) can no longer overwrite the new owner's state.
Every function runs in the caller's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.store.bulk import insert_for
from opsconductor.store.tables import agent_state


async def claim_state(session: AsyncSession, partition: str, now: float) -> tuple[bytes, int]:
    """Become the owner of ``partition``'s state: ``(saved state or b"", new epoch)``."""
    insert = insert_for(session)
    values = insert(agent_state).values(partition=partition, state=b"", updated_at=now, epoch=1)
    claim = values.on_conflict_do_update(
        index_elements=["partition"], set_={"epoch": agent_state.c.epoch + 1}
    ).returning(agent_state.c.state, agent_state.c.epoch)
    state, epoch = (await session.execute(claim)).one()
    return bytes(state), int(epoch)


async def load_state(session: AsyncSession, partition: str) -> bytes | None:
    """The state saved for ``partition``, or ``None`` when there is none (read only)."""
    result = await session.execute(
        sa.select(agent_state.c.state).where(agent_state.c.partition == partition)
    )
    saved = result.scalar_one_or_none()
    return bytes(saved) if saved else None


async def save_state(
    session: AsyncSession, partition: str, state: bytes, now: float, epoch: int
) -> bool:
    """Store ``state`` if ``epoch`` still owns the row; False when another owner claimed it."""
    result = await session.execute(
        sa.update(agent_state)
        .where(agent_state.c.partition == partition, agent_state.c.epoch == epoch)
        .values(state=state, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
