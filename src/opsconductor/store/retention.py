"""The retention job: deletes events, dead letters and findings older than their ages.

Age is the time of receipt (the ULID id; a finding's id carries the receipt time of its last
evidence event), so replayed old logs and devices with a wrong clock are kept as long as
anything else. Alerts and their history are kept: one row per problem, not per line.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.store.events import delete_events_before, delete_received_before
from opsconductor.store.tables import dead_letters, findings

_log = logging.getLogger(__name__)
DAY_SECONDS = 86_400.0


async def run_retention(
    factory: async_sessionmaker[AsyncSession],
    retention_days: float,
    *,
    now: float | None = None,
    findings_days: float | None = None,
) -> int:
    """Delete events and dead letters received over ``retention_days`` ago, and findings
    over ``findings_days`` ago (when given), once; returns the number of events deleted."""
    moment = time.time() if now is None else now
    cutoff = moment - retention_days * DAY_SECONDS
    async with factory() as session:
        deleted = await delete_events_before(session, cutoff)
    async with factory() as session:
        await delete_received_before(session, dead_letters, cutoff)
    if findings_days is not None:
        async with factory() as session:
            await delete_received_before(session, findings, moment - findings_days * DAY_SECONDS)
    return deleted


async def retention_loop(
    factory: async_sessionmaker[AsyncSession],
    retention_days: float,
    interval_seconds: float,
    findings_days: float | None = None,
) -> None:
    """Run ``run_retention`` now and then every ``interval_seconds``, until cancelled.

    A failed run (database down, lock timeout) is logged and retried at the next interval;
    rows already deleted by earlier chunks stay deleted.
    """
    while True:
        started = time.monotonic()
        try:
            retention_days, findings_days = await _current_ages(
                factory, retention_days, findings_days
            )
            deleted = await run_retention(factory, retention_days, findings_days=findings_days)
        except (SQLAlchemyError, OSError) as exc:
            _log.warning("retention run failed, retrying in %.0fs: %s", interval_seconds, exc)
        except Exception:  # a defect must not end retention for good
            _log.exception("retention run failed, retrying in %.0fs", interval_seconds)
        else:
            _log.info(
                "retention deleted %d events older than %g days in %.2fs",
                deleted,
                retention_days,
                time.monotonic() - started,
            )
        await asyncio.sleep(interval_seconds)


async def _current_ages(
    factory: async_sessionmaker[AsyncSession], events_days: float, findings_days: float | None
) -> tuple[float, float | None]:
    """The ages to keep, as an operator set them at run time (``system_settings``)."""
    from opsconductor.system_settings import overrides

    async with factory() as session:
        stored = await overrides(session)
    events_days = float(stored.get("event_retention_days", events_days))
    if findings_days is not None:
        findings_days = float(stored.get("findings_retention_days", findings_days))
    return events_days, findings_days
