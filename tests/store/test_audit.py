"""The audit log's hash chain on SQLite and PostgreSQL: intact, changed, deleted, reordered."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.store.audit import AuditEntry, append_audit, verify_chain
from opsconductor.store.tables import audit_log

Factory = async_sessionmaker[AsyncSession]


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        at=1_790_000_000.0 + n, actor="kim", role="admin", action="POST /api/v1/rules",
        target=f"/api/v1/rules/r{n}", source="192.0.2.9", outcome="201", detail={"n": n},
    )  # fmt: skip


async def fill(factory: Factory, count: int) -> None:
    for n in range(count):
        async with factory() as session:
            await append_audit(session, entry(n))
            await session.commit()


async def check(factory: Factory) -> tuple[bool, int, str | None]:
    async with factory() as session:
        result = await verify_chain(session)
    return result.intact, result.records, result.fault


async def test_an_untouched_log_verifies(factory: Factory) -> None:
    await fill(factory, 5)
    assert await check(factory) == (True, 5, None)


async def test_an_empty_log_verifies(factory: Factory) -> None:
    assert await check(factory) == (True, 0, None)


async def test_a_changed_record_is_found(factory: Factory) -> None:
    await fill(factory, 5)
    async with factory() as session:
        await session.execute(
            sa.update(audit_log).where(audit_log.c.seq == 3).values(outcome="200")
        )
        await session.commit()
    assert await check(factory) == (False, 2, "record 3 was changed")


async def test_a_deleted_record_is_found(factory: Factory) -> None:
    await fill(factory, 5)
    async with factory() as session:
        await session.execute(sa.delete(audit_log).where(audit_log.c.seq == 2))
        await session.commit()
    assert await check(factory) == (False, 1, "record 2 is missing")


async def test_a_rewritten_tail_is_found(factory: Factory) -> None:
    """Deleting a record and renumbering the rest does not hide it: the link breaks."""
    await fill(factory, 4)
    async with factory() as session:
        await session.execute(sa.delete(audit_log).where(audit_log.c.seq == 2))
        for seq in (3, 4):
            await session.execute(
                sa.update(audit_log).where(audit_log.c.seq == seq).values(seq=seq - 1)
            )
        await session.commit()
    assert await check(factory) == (False, 1, "record 2 does not follow record 1")


async def test_concurrent_appends_keep_one_chain(factory: Factory, backend: str) -> None:
    if backend != "postgresql":
        return  # one process writes SQLite's log, taking turns on its own lock

    async def one(n: int) -> None:
        async with factory() as session:
            await append_audit(session, entry(n))
            await session.commit()

    await asyncio.gather(*(one(n) for n in range(20)))
    assert await check(factory) == (True, 20, None)
