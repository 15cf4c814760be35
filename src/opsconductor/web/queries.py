"""Aggregates the console shows that the API does not list: counts by group, rates over time.

Each reads a bounded slice: open alerts through ``ix_alerts_status_severity_domain_id``, events
of a recent period as an id range of ``events`` (ULIDs are minted in time order), so the cost
follows what is recent, not what is stored — and at most ``ROW_BUDGET`` of those events, the
newest: during a log storm the dashboard counts the newest ones and says since when.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.ids import ulid_floor
from opsconductor.severity import ALERT_LEVELS_WORST_FIRST
from opsconductor.store.tables import alerts, events, findings
from opsconductor.web.charts import Bucket
from opsconductor.web.render import when

SEVERITIES = ALERT_LEVELS_WORST_FIRST
ROW_BUDGET = 200_000
"""Events an aggregate reads at most (~60,000 an hour at 10,000,000 a week)."""


@dataclass(frozen=True, slots=True)
class EventRate:
    """Events per bucket, oldest first; ``partial_since`` is set when the row budget ended
    the count: only events received since then were counted."""

    buckets: list[Bucket]
    partial_since: float | None = None

    @property
    def total(self) -> int:
        """Events counted."""
        return int(sum(b.value for b in self.buckets))


def _recent_events(period: float, now: float, device_id: str | None = None) -> sa.Subquery:
    """The newest ``ROW_BUDGET`` events of the last ``period`` seconds (id, time, device)."""
    stmt = sa.select(events.c.id, events.c.received_at, events.c.device_id, events.c.host)
    stmt = stmt.where(events.c.id >= ulid_floor(now - period))
    if device_id is not None:
        stmt = stmt.where(events.c.device_id == device_id)
    return stmt.order_by(events.c.id.desc()).limit(ROW_BUDGET).subquery()


async def open_alert_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Firing alerts by (severity, domain)."""
    stmt = (
        sa.select(alerts.c.severity, alerts.c.domain, sa.func.count())
        .where(alerts.c.status == "firing")
        .group_by(alerts.c.severity, alerts.c.domain)
    )
    return {(row[0], row[1]): int(row[2]) for row in await session.execute(stmt)}


def _bucket_of(
    session: AsyncSession, received_at: sa.ColumnElement[Any], seconds: int
) -> sa.ColumnElement[Any]:
    scaled = received_at / seconds
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.floor(scaled), sa.BigInteger)
    return sa.cast(scaled, sa.Integer)  # SQLite truncates toward zero: a floor for times


async def event_rate(
    session: AsyncSession, period: float, buckets: int, device_id: str | None = None,
    now: float | None = None,
) -> EventRate:  # fmt: skip
    """Events received per bucket over the last ``period`` seconds, oldest bucket first."""
    now = time.time() if now is None else now
    size = max(int(period // buckets), 1)
    first = int((now - period) // size) + 1
    recent = _recent_events(period, now, device_id)
    bucket = _bucket_of(session, recent.c.received_at, size).label("bucket")
    stmt = sa.select(bucket, sa.func.count(), sa.func.min(recent.c.received_at)).group_by(bucket)
    counts: dict[int, int] = {}
    oldest = now
    for b, n, earliest in await session.execute(stmt):
        counts[int(b)] = int(n)
        oldest = min(oldest, float(earliest))
    rate = EventRate([
        Bucket(when((first + i) * size)[11:16], float(counts.get(first + i, 0)))
        for i in range(buckets)
    ])  # fmt: skip
    return EventRate(rate.buckets, oldest) if rate.total >= ROW_BUDGET else rate


async def noisiest_devices(
    session: AsyncSession, period: float, limit: int = 8
) -> list[tuple[str, str, int]]:
    """The devices that sent the most of the last ``period`` seconds' newest ``ROW_BUDGET``
    events: (id, host, count)."""
    recent = _recent_events(period, time.time())
    total = sa.func.count().label("total")
    stmt = (
        sa.select(recent.c.device_id, sa.func.max(recent.c.host), total)
        .group_by(recent.c.device_id)
        .order_by(total.desc())
        .limit(limit)
    )
    return [(row[0], row[1], int(row[2])) for row in await session.execute(stmt)]


async def recent_findings(session: AsyncSession, limit: int = 8) -> Sequence[Any]:
    """The newest findings."""
    stmt = sa.select(
        findings.c.id, findings.c.title, findings.c.severity, findings.c.host,
        findings.c.domain, findings.c.detected_at, findings.c.alert_id,
    ).order_by(findings.c.id.desc()).limit(limit)  # fmt: skip
    return list((await session.execute(stmt)).all())
