"""Aggregates the console shows that the API does not list: counts by group, rates over time.

Each reads a bounded slice: open alerts through ``ix_alerts_status_severity_domain_id``, events
of a recent period as an id range of ``events`` (ULIDs are minted in time order), so the cost
follows what is recent, not what is stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.ids import ulid_floor
from opsconductor.store.tables import alerts, events, findings
from opsconductor.web.charts import Bucket
from opsconductor.web.render import when

SEVERITIES = ("critical", "major", "minor", "warning", "info")


async def open_alert_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Firing alerts by (severity, domain)."""
    stmt = (
        sa.select(alerts.c.severity, alerts.c.domain, sa.func.count())
        .where(alerts.c.status == "firing")
        .group_by(alerts.c.severity, alerts.c.domain)
    )
    return {(row[0], row[1]): int(row[2]) for row in await session.execute(stmt)}


def _bucket_of(session: AsyncSession, seconds: int) -> sa.ColumnElement[Any]:
    scaled = events.c.received_at / seconds
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.floor(scaled), sa.BigInteger)
    return sa.cast(scaled, sa.Integer)  # SQLite truncates toward zero: a floor for times


async def event_rate(
    session: AsyncSession, period: float, buckets: int, device_id: str | None = None,
    now: float | None = None,
) -> list[Bucket]:  # fmt: skip
    """Events received per bucket over the last ``period`` seconds, oldest bucket first."""
    now = time.time() if now is None else now
    size = max(int(period // buckets), 1)
    first = int((now - period) // size) + 1
    bucket = _bucket_of(session, size).label("bucket")
    stmt = sa.select(bucket, sa.func.count()).where(events.c.id >= ulid_floor(now - period))
    if device_id is not None:
        stmt = stmt.where(events.c.device_id == device_id)
    counts = {int(b): int(n) for b, n in await session.execute(stmt.group_by(bucket))}
    return [
        Bucket(when((first + i) * size)[11:16], float(counts.get(first + i, 0)))
        for i in range(buckets)
    ]


async def noisiest_devices(
    session: AsyncSession, period: float, limit: int = 8
) -> list[tuple[str, str, int]]:
    """The devices that sent the most events in the last ``period`` seconds: (id, host, count)."""
    total = sa.func.count().label("total")
    stmt = (
        sa.select(events.c.device_id, sa.func.max(events.c.host), total)
        .where(events.c.id >= ulid_floor(time.time() - period))
        .group_by(events.c.device_id)
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
