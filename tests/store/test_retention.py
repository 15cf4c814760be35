"""Retention: only old events go, in chunks; the loop keeps running — on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.ids import new_ulid
from opsconductor.messages import Event
from opsconductor.store import EventFilter, add_events, count_events, delete_events_before
from opsconductor.store import list_events as list_page
from opsconductor.store.retention import DAY_SECONDS, retention_loop, run_retention
from opsconductor.store.tables import findings
from opsconductor.system_settings import write_setting

Factory = async_sessionmaker[AsyncSession]
EventMaker = Callable[..., Event]
NOW = 1_700_000_000.0


async def _seed(factory: Factory, make_event: EventMaker, old: int, new: int) -> set[str]:
    # Age is when a record was received (its ULID), not the time the device states: the new
    # events claim an old device time and must survive, the old ones claim a recent one.
    olds = [_received(make_event, NOW - 10 * DAY_SECONDS - i, stated=NOW) for i in range(old)]
    news = [_received(make_event, NOW - i, stated=NOW - 100 * DAY_SECONDS) for i in range(new)]
    async with factory() as session, session.begin():
        await add_events(session, olds + news)
    return {e.id for e in news}


def _received(make_event: EventMaker, at: float, *, stated: float) -> Event:
    return make_event(id=new_ulid(at), received_at=at, timestamp=stated)


async def _remaining(factory: Factory) -> set[str]:
    async with factory() as session:
        page = await list_page(session, EventFilter(), cursor=None, limit=1000)
    return {row.id for row in page.items}


async def test_delete_events_before_only_old_in_chunks(
    factory: Factory, make_event: EventMaker
) -> None:
    keep = await _seed(factory, make_event, old=23, new=5)
    async with factory() as session:
        assert await delete_events_before(session, NOW - DAY_SECONDS, chunk=4) == 23
        assert await delete_events_before(session, NOW - DAY_SECONDS, chunk=4) == 0
        assert await count_events(session) == 5
    assert await _remaining(factory) == keep


async def test_delete_events_before_rejects_bad_chunk(factory: Factory) -> None:
    async with factory() as session:
        with pytest.raises(ValueError, match="chunk"):
            await delete_events_before(session, NOW, chunk=0)


async def test_run_retention_uses_days(factory: Factory, make_event: EventMaker) -> None:
    keep = await _seed(factory, make_event, old=3, new=4)
    assert await run_retention(factory, 7.0, now=NOW) == 3
    assert await _remaining(factory) == keep


async def _loop_until_logged(
    factory: Factory, days: float, caplog: pytest.LogCaptureFixture, line: str
) -> None:
    """Run the retention loop (every 50 ms, keeping ``days``) until it logs ``line`` (4 s)."""
    caplog.set_level(logging.INFO, logger="opsconductor.store.retention")
    task = asyncio.create_task(retention_loop(factory, days, 0.05))
    try:
        for _ in range(200):
            if line in caplog.text:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_retention_loop_deletes_and_logs(
    factory: Factory, make_event: EventMaker, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(factory, make_event, old=6, new=0)  # old even by today's clock
    await _loop_until_logged(factory, 1.0, caplog, "retention deleted 6 events")
    assert "retention deleted 6 events" in caplog.text
    assert await _remaining(factory) == set()


async def test_findings_have_their_own_age(factory: Factory) -> None:
    """Findings go after ``findings_days`` by the receipt time their id carries; alerts stay."""
    rows = [
        {"id": new_ulid(NOW - days * DAY_SECONDS), "rule_id": "r", "agent": "system",
         "domain": "system", "kind": "problem", "device_id": "d", "host": "h",
         "severity": "info", "title": "t", "summary": "", "fingerprint": "f", "labels": {},
         "evidence": [], "count": 1, "window_seconds": 0.0, "observed_at": NOW,
         "detected_at": NOW, "alert_id": None}
        for days in (40, 31, 29, 1)
    ]  # fmt: skip
    async with factory() as session, session.begin():
        await session.execute(sa.insert(findings), rows)
    await run_retention(factory, 7.0, now=NOW, findings_days=30.0)
    async with factory() as session:
        left = set((await session.execute(sa.select(findings.c.id))).scalars())
    assert left == {rows[2]["id"], rows[3]["id"]}


async def test_the_loop_keeps_the_age_an_operator_set(
    factory: Factory, make_event: EventMaker, caplog: pytest.LogCaptureFixture
) -> None:
    """``event_retention_days`` stored at run time wins over the configured age."""
    now = time.time()
    aged = [_received(make_event, now - 2 * DAY_SECONDS - i, stated=now) for i in range(3)]
    async with factory() as session, session.begin():
        await add_events(session, aged)
        await write_setting(session, "event_retention_days", 1.0, "test", now)
    await _loop_until_logged(factory, 30.0, caplog, "retention deleted 3 events older than 1 days")
    assert await _remaining(factory) == set()
