"""The operator's actions on an alert: acknowledge, unacknowledge, resolve, comment, assign.

Each changes the alert in the caller's transaction, appends a history row naming the actor
and returns the ``AlertChange`` to publish after the commit (``None`` when there is no such
alert). Only a resolve may notify: when the alert was firing and someone had been told of it.
A manual resolve is a status change like a clear; the alert's next problem finding reopens it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts import repository as repo
from opsconductor.alerts.decision import FIRING, RESOLVED
from opsconductor.errors import InputError
from opsconductor.ids import new_ulid
from opsconductor.messages import AlertChange
from opsconductor.store.tables import alerts

_MAX_TEXT = 10_000


async def _apply(
    session: AsyncSession,
    alert_id: str,
    change: str,
    actor: str,
    now: float,
    detail: str,
    values: dict[str, Any],
    notify: bool = False,
) -> AlertChange | None:
    row = await repo.update_alert(session, alert_id, updated_at=now, **values)
    if row is None:
        return None
    await repo.insert_history(
        session,
        [
            repo.HistoryEntry(
                new_ulid(now), row.id, now, change, row.status, row.severity, actor, detail, None
            )
        ],
    )
    return row_change(row, change, now, notify)


def row_change(row: Any, change: str, now: float, notify: bool) -> AlertChange:
    """The ``AlertChange`` of a change to the stored alert ``row`` (as it is after it)."""
    return AlertChange(
        id=new_ulid(now), alert_id=row.id, fingerprint=row.fingerprint, change=change,
        status=row.status, severity=row.severity, occurrences=row.occurrences,
        rule_id=row.rule_id, device_id=row.device_id, title=row.title, at=now, notify=notify,
        suppressed_by=row.suppressed_by,
    )  # fmt: skip


async def acknowledge(
    session: AsyncSession, alert_id: str, actor: str, now: float
) -> AlertChange | None:
    """``actor`` has seen the alert and handles it (until it reopens or is unacknowledged)."""
    values = {"acknowledged_by": actor, "acknowledged_at": now}
    return await _apply(session, alert_id, "acknowledged", actor, now, "", values)


async def unacknowledge(
    session: AsyncSession, alert_id: str, actor: str, now: float
) -> AlertChange | None:
    """Take the acknowledgement back."""
    values = {"acknowledged_by": None, "acknowledged_at": None}
    return await _apply(session, alert_id, "unacknowledged", actor, now, "", values)


async def resolve(
    session: AsyncSession, alert_id: str, actor: str, now: float, comment: str = ""
) -> AlertChange | None:
    """Resolve the alert by hand; notifies when it was firing and had been notified."""
    _check_text(comment, required=False)
    stmt = sa.select(alerts.c.status, alerts.c.last_notified_at).where(alerts.c.id == alert_id)
    if (await session.connection()).dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    prior = (await session.execute(stmt)).first()
    if prior is None:
        return None
    values: dict[str, Any] = {"status": RESOLVED}
    notify = prior.status == FIRING and prior.last_notified_at is not None
    if prior.status == FIRING:
        values["resolved_at"] = now
    if notify:
        values["last_notified_at"] = now
    return await _apply(session, alert_id, "resolved", actor, now, comment, values, notify)


async def comment(
    session: AsyncSession, alert_id: str, actor: str, text: str, now: float
) -> AlertChange | None:
    """Add ``text`` to the alert's history (``InputError`` when empty or over 10,000 chars)."""
    _check_text(text, required=True)
    return await _apply(session, alert_id, "commented", actor, now, text, {})


async def assign(
    session: AsyncSession, alert_id: str, actor: str, assignee: str, now: float
) -> AlertChange | None:
    """Give the alert to ``assignee`` (an empty string unassigns it)."""
    name = assignee.strip()
    detail = f"assigned to {name}" if name else "unassigned"
    return await _apply(
        session, alert_id, "assigned", actor, now, detail, {"assignee": name or None}
    )


def _check_text(text: str, *, required: bool) -> None:
    if required and not text.strip():
        raise InputError("a comment needs some text")
    if len(text) > _MAX_TEXT:
        raise InputError(f"a comment is at most {_MAX_TEXT} characters")
