"""Build a ``Suppressor`` from the store: current silences, enabled maintenance windows, and
the site and groups of the devices that have any.

A stored silence or window that no longer validates (a rule tightened since it was saved) is
skipped with a warning rather than stopping the alert engine.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts.suppression import (
    DeviceScope,
    MaintenanceWindow,
    Silence,
    Suppressor,
    parse_silence,
    parse_window,
)
from opsconductor.errors import InputError
from opsconductor.store.tables import devices, maintenance_windows, silences

log = logging.getLogger(__name__)


async def load_silences(session: AsyncSession, now: float) -> list[Silence]:
    """Silences that have not ended by ``now`` (active or still to come)."""
    stmt = sa.select(silences).where(silences.c.ends_at > now).order_by(silences.c.id)
    found = []
    for row in await session.execute(stmt):
        try:
            found.append(parse_silence(row._asdict()))
        except InputError as exc:
            log.warning("silence %s skipped: %s", row.id, exc)
    return found


async def load_windows(session: AsyncSession) -> list[MaintenanceWindow]:
    """Enabled maintenance windows."""
    stmt = sa.select(maintenance_windows).where(maintenance_windows.c.enabled.is_(True))
    found = []
    for row in await session.execute(stmt.order_by(maintenance_windows.c.id)):
        try:
            found.append(parse_window(row._asdict()))
        except InputError as exc:
            log.warning("maintenance window %s skipped: %s", row.id, exc)
    return found


async def load_device_scopes(session: AsyncSession) -> dict[str, DeviceScope]:
    """``device_id`` → ``(site, groups)`` of the devices with a site or a group."""
    has_groups = sa.cast(devices.c.groups, sa.Text) != "[]"
    stmt = sa.select(devices.c.id, devices.c.site, devices.c.groups).where(
        sa.or_(devices.c.site != "", has_groups)
    )
    return {
        row.id: (row.site, tuple(str(g) for g in (row.groups or ())))
        for row in await session.execute(stmt)
    }


async def load_suppressor(session: AsyncSession, now: float | None = None) -> Suppressor:
    """A ``Suppressor`` of what the store holds at ``now`` (default: the wall clock)."""
    moment = time.time() if now is None else now
    windows = await load_windows(session)
    scopes: dict[str, DeviceScope] = {}
    if any(w.scope.get("sites") or w.scope.get("groups") for w in windows):
        scopes = await load_device_scopes(session)
    return Suppressor(await load_silences(session, moment), windows, scopes.get)
