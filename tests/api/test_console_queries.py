"""The dashboard's aggregates over events: per-minute counts, the noisiest devices, and the
row budget that bounds them during a log storm. Both databases."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from tests.api.conftest import Api

from opsconductor.ids import new_ulid
from opsconductor.store.tables import EVENT_COLUMNS, events
from opsconductor.web import queries


async def _store_events(api: Api, count: int, now: float) -> None:
    rows = []
    for n in range(count):
        at = now - 3000 + n
        values = (
            new_ulid(at), at, at, "udp", "192.0.2.1", f"dev-{n % 3}", f"host-{n % 3}", 1, 5,
            "netifd", "", "", "line", {}, {}, "rfc3164", "ok", "wan",
        )  # fmt: skip
        rows.append(dict(zip(EVENT_COLUMNS, values, strict=True)))
    async with api.sessions() as session:
        await session.execute(sa.insert(events), rows)
        await session.commit()


async def test_the_last_hour_is_counted_per_minute(api: Api) -> None:
    now = time.time()
    await _store_events(api, 1200, now)
    async with api.sessions() as session:
        rate = await queries.event_rate(session, 3600, 60, now=now)
        noisy = await queries.noisiest_devices(session, 3600)
    assert rate.total == 1200 and rate.partial_since is None and len(rate.buckets) == 60
    assert max(b.value for b in rate.buckets) <= 60
    assert sorted(n for _, _, n in noisy) == [400, 400, 400]


async def test_a_storm_is_counted_up_to_the_budget_and_says_since_when(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    await _store_events(api, 1200, now)
    monkeypatch.setattr(queries, "ROW_BUDGET", 1000)
    async with api.sessions() as session:
        rate = await queries.event_rate(session, 3600, 60, now=now)
        noisy = await queries.noisiest_devices(session, 3600)
    assert rate.total == 1000
    assert rate.partial_since == pytest.approx(now - 3000 + 200, abs=1)
    assert sum(n for _, _, n in noisy) == 1000
