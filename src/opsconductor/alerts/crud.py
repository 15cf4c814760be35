"""Silences and maintenance windows in the store: list, read, create, change, expire, delete.

The documents (``matchers``, ``scope``, ``schedule``) arrive validated by the caller (see
``alerts.suppression``) and are stored as JSON. A silence is never deleted: expiring it sets
``ends_at`` to now, so the alert history can still name it. A maintenance window is deleted.
Every function runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.ids import new_ulid
from opsconductor.store.pagination import Page, newest_first, row_as
from opsconductor.store.tables import maintenance_windows, silences

SilenceState = Literal["active", "pending", "expired"]


@dataclass(frozen=True, slots=True)
class SilenceRow:
    """A stored silence: the alerts its matchers select are held in ``[starts_at, ends_at)``."""

    id: str
    matchers: list[dict[str, Any]]
    starts_at: float
    ends_at: float
    author: str
    comment: str
    created_at: float
    updated_at: float

    def state(self, now: float) -> SilenceState:
        """``pending`` before it starts, ``active`` while it holds, ``expired`` after."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class SilenceValues:
    """What an operator sets on a silence."""

    matchers: list[dict[str, Any]]
    starts_at: float
    ends_at: float
    comment: str


@dataclass(frozen=True, slots=True)
class WindowRow:
    """A stored maintenance window: a scope of devices and the schedule it is in maintenance."""

    id: str
    name: str
    scope: dict[str, Any]
    schedule: dict[str, Any]
    enabled: bool
    author: str
    comment: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class WindowValues:
    """What an operator sets on a maintenance window."""

    name: str
    scope: dict[str, Any]
    schedule: dict[str, Any]
    enabled: bool
    comment: str


def _silence_state(state: SilenceState, now: float) -> list[sa.ColumnElement[bool]]:
    c = silences.c
    if state == "pending":
        return [c.starts_at > now]
    if state == "active":
        return [c.starts_at <= now, c.ends_at > now]
    return [c.ends_at <= now]


async def list_silences(
    session: AsyncSession,
    *,
    now: float,
    state: SilenceState | None = None,
    cursor: str | None,
    limit: int,
) -> Page[SilenceRow]:
    """Silences newest first, only those in ``state`` at ``now`` when given."""
    conditions = [] if state is None else _silence_state(state, now)
    return await newest_first(session, silences, SilenceRow, conditions, cursor, limit)


async def get_silence(session: AsyncSession, silence_id: str) -> SilenceRow | None:
    """The silence with ``silence_id``, or ``None``."""
    return await _get_one(session, silences, SilenceRow, silence_id)


async def create_silence(
    session: AsyncSession, values: SilenceValues, *, author: str, now: float
) -> SilenceRow:
    """Store a new silence by ``author``."""
    row = SilenceRow(
        id=new_ulid(now),
        matchers=values.matchers,
        starts_at=values.starts_at,
        ends_at=values.ends_at,
        author=author,
        comment=values.comment,
        created_at=now,
        updated_at=now,
    )
    await session.execute(sa.insert(silences).values(**_as_dict(row)))
    return row


async def update_silence(
    session: AsyncSession, silence_id: str, values: SilenceValues, *, now: float
) -> SilenceRow | None:
    """Replace what the operator sets on a silence; ``None`` when there is none."""
    return await _replace(session, silences, SilenceRow, silence_id, _as_dict(values), now)


async def expire_silence(
    session: AsyncSession, silence_id: str, *, now: float
) -> tuple[SilenceRow | None, bool]:
    """End a silence now: ``(the silence or None if absent, whether it was still in force)``.

    A pending silence ends before it began (``starts_at`` moves to now as well); an expired
    one is left as it is.
    """
    current = await get_silence(session, silence_id)
    if current is None or current.ends_at <= now:
        return current, False
    stmt = (
        sa.update(silences)
        .where(silences.c.id == silence_id)
        .values(starts_at=min(current.starts_at, now), ends_at=now, updated_at=now)
        .returning(*silences.c)
    )
    row = (await session.execute(stmt)).one()
    return row_as(SilenceRow, row), True


async def list_windows(
    session: AsyncSession, *, enabled: bool | None = None, cursor: str | None, limit: int
) -> Page[WindowRow]:
    """Maintenance windows newest first, only enabled (or disabled) ones when asked."""
    c = maintenance_windows.c
    conditions = [] if enabled is None else [c.enabled == enabled]
    return await newest_first(session, maintenance_windows, WindowRow, conditions, cursor, limit)


async def get_window(session: AsyncSession, window_id: str) -> WindowRow | None:
    """The maintenance window with ``window_id``, or ``None``."""
    return await _get_one(session, maintenance_windows, WindowRow, window_id)


async def create_window(
    session: AsyncSession, values: WindowValues, *, author: str, now: float
) -> WindowRow:
    """Store a new maintenance window by ``author``."""
    row = WindowRow(
        id=new_ulid(now),
        name=values.name,
        scope=values.scope,
        schedule=values.schedule,
        enabled=values.enabled,
        author=author,
        comment=values.comment,
        created_at=now,
        updated_at=now,
    )
    await session.execute(sa.insert(maintenance_windows).values(**_as_dict(row)))
    return row


async def update_window(
    session: AsyncSession, window_id: str, values: WindowValues, *, now: float
) -> WindowRow | None:
    """Replace what the operator sets on a maintenance window; ``None`` when there is none."""
    values_set = _as_dict(values)
    return await _replace(session, maintenance_windows, WindowRow, window_id, values_set, now)


async def delete_window(session: AsyncSession, window_id: str) -> bool:
    """Delete a maintenance window; False when there was none."""
    stmt = sa.delete(maintenance_windows).where(maintenance_windows.c.id == window_id)
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


async def _get_one(session: AsyncSession, table: sa.Table, kind: type[R], row_id: str) -> R | None:
    row = (await session.execute(sa.select(table).where(table.c.id == row_id))).first()
    return None if row is None else row_as(kind, row)


async def _replace(
    session: AsyncSession,
    table: sa.Table,
    kind: type[R],
    row_id: str,
    values: dict[str, Any],
    now: float,
) -> R | None:
    """Set ``values`` (and ``updated_at``) on one row; the row after, or ``None`` if absent."""
    stmt = (
        sa.update(table)
        .where(table.c.id == row_id)
        .values(**values, updated_at=now)
        .returning(*table.c)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else row_as(kind, row)


def _as_dict(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}
