"""The SQL of the alert engine's writes: findings, alert upserts, history, operator updates.

Like ``store.events`` the hot path hands plain tuples to the driver (JSON encoded once with
msgspec): findings go in as one ``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``
statement per chunk (``unnest`` arrays on PostgreSQL, a multi-row ``VALUES`` on SQLite), so
the caller learns which findings are new; alerts are written with one
``INSERT … ON CONFLICT (fingerprint) DO UPDATE`` per alert, all in one ``executemany``.
Every function runs in the caller's transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts.decision import AlertState
from opsconductor.messages import Finding
from opsconductor.store.bulk import pg_unnest_insert
from opsconductor.store.tables import alert_history, alerts, as_columns, findings

_json = msgspec.json.Encoder().encode
_SQLITE_CHUNK = 500  # 18 columns a row: well under SQLite's 32766 parameters

FINDING_COLUMNS: tuple[str, ...] = tuple(c.name for c in findings.columns)
_FINDING_TYPES = {"count": "int4", "window_seconds": "float8", "observed_at": "float8",
                  "detected_at": "float8"}  # fmt: skip
_FINDING_JSON = frozenset({"labels", "evidence"})

ALERT_COLUMNS: tuple[str, ...] = tuple(c.name for c in alerts.columns)
_DISPLAY = ("host", "title", "summary", "labels")
_ALERT_UPDATED = (
    "status", "severity", "base_severity", "flapping",
    "suppressed_by", "occurrences", "first_seen", "last_seen", "resolved_at", "transitions",
    "last_notified_at", "last_finding_id", "updated_at",
)  # fmt: skip
_ACK_COLUMNS = ("acknowledged_by", "acknowledged_at")


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as loaded for a decision: its identity, its state and its display fields."""

    id: str
    fingerprint: str
    rule_id: str
    device_id: str
    title: str
    state: AlertState


@dataclass(frozen=True, slots=True)
class AlertWrite:
    """One alert's row to upsert. ``display`` is the finding whose title, summary, host and
    labels the alert shows (the latest problem finding); with ``keep_display`` (only clear
    findings applied) a stored alert keeps its own. ``reopened`` drops the acknowledgement:
    a new episode needs a new one."""

    id: str
    display: Finding
    last_finding_id: str
    state: AlertState
    reopened: bool
    keep_display: bool
    now: float


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of ``alert_history``."""

    id: str
    alert_id: str
    at: float
    change: str
    status: str
    severity: str
    actor: str
    detail: str
    finding_id: str | None


def _placeholders(dialect: str, count: int, first: int = 1) -> list[str]:
    mark = "$" if dialect == "postgresql" else "?"
    return [f"{mark}{i}" for i in range(first, first + count)]


def _finding_insert_sql(dialect: str, rows: int) -> str:
    names = ", ".join(FINDING_COLUMNS)
    tail = "ON CONFLICT (id) DO NOTHING RETURNING id"
    if dialect == "postgresql":
        return pg_unnest_insert(
            "findings", FINDING_COLUMNS, types=_FINDING_TYPES, json_columns=_FINDING_JSON, tail=tail
        )
    one = "(" + ", ".join("?" * len(FINDING_COLUMNS)) + ")"
    return f"INSERT INTO findings ({names}) VALUES {', '.join([one] * rows)} {tail}"


def _finding_row(finding: Finding, alert_id: str | None) -> tuple[Any, ...]:
    f = finding
    return (
        f.id, f.rule_id, f.agent, f.domain, f.kind, f.device_id, f.host, f.severity, f.title,
        f.summary, f.fingerprint, _json(f.labels).decode(), _json(f.evidence).decode(), f.count,
        f.window_seconds, f.observed_at, f.detected_at, alert_id,
    )  # fmt: skip


async def insert_findings(
    session: AsyncSession, batch: Sequence[tuple[Finding, str | None]]
) -> set[str]:
    """Store ``(finding, alert_id)`` pairs, skipping ids already stored; the ids inserted."""
    if not batch:
        return set()
    conn = await session.connection()
    dialect = conn.dialect.name
    rows = [_finding_row(f, alert_id) for f, alert_id in sorted(batch, key=lambda p: p[0].id)]
    inserted: set[str] = set()
    if dialect == "postgresql":
        result = await conn.exec_driver_sql(_finding_insert_sql(dialect, 0), as_columns(rows))
        inserted.update(row[0] for row in result)
        return inserted
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        flat = tuple(value for row in chunk for value in row)
        result = await conn.exec_driver_sql(_finding_insert_sql(dialect, len(chunk)), flat)
        inserted.update(row[0] for row in result)
    return inserted


def state_of(row: Any) -> AlertState:
    """The ``AlertState`` held in an ``alerts`` row."""
    return AlertState(
        status=row.status,
        severity=row.severity,
        base_severity=row.base_severity,
        occurrences=row.occurrences,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        transitions=tuple(row.transitions or ()),
        flapping=bool(row.flapping),
        suppressed_by=row.suppressed_by,
        last_notified_at=row.last_notified_at,
    )


def _stored(row: Any) -> StoredAlert:
    return StoredAlert(
        row.id, row.fingerprint, row.rule_id, row.device_id, row.title, state_of(row)
    )


_LOCK_FINGERPRINTS = sa.text(
    "SELECT count(pg_advisory_xact_lock(key)) FROM "
    "(SELECT hashtextextended(fp, 0) AS key FROM unnest(CAST(:fps AS text[])) AS fp "
    "ORDER BY key) AS keys"
)
"""Transaction locks on the fingerprints, in one order: a second alert engine deciding the
same fingerprints waits for the first one's commit — for alerts that do not exist yet too,
which ``FOR UPDATE`` cannot lock."""


async def load_alerts(session: AsyncSession, fingerprints: Iterable[str]) -> dict[str, StoredAlert]:
    """The alerts of ``fingerprints`` (locked for update on PostgreSQL), by fingerprint."""
    wanted = sorted(set(fingerprints))
    if not wanted:
        return {}
    stmt = sa.select(alerts).where(alerts.c.fingerprint.in_(wanted)).order_by(alerts.c.fingerprint)
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await session.execute(_LOCK_FINGERPRINTS, {"fps": wanted})
        stmt = stmt.with_for_update()
    return {row.fingerprint: _stored(row) for row in await session.execute(stmt)}


def _alert_upsert_sql(dialect: str) -> str:
    marks = _placeholders(dialect, len(ALERT_COLUMNS))
    if dialect == "postgresql":
        marks = [f"{m}::jsonb" if n in ("labels", "transitions") else m
                 for m, n in zip(marks, ALERT_COLUMNS, strict=True)]  # fmt: skip
    reset, keep = _placeholders(dialect, 2, len(ALERT_COLUMNS) + 1)
    updates = [f"{name} = excluded.{name}" for name in _ALERT_UPDATED]
    updates += [f"{n} = CASE WHEN {keep} THEN alerts.{n} ELSE excluded.{n} END" for n in _DISPLAY]
    updates += [f"{n} = CASE WHEN {reset} THEN NULL ELSE alerts.{n} END" for n in _ACK_COLUMNS]
    return (
        f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join(marks)}) "
        f"ON CONFLICT (fingerprint) DO UPDATE SET {', '.join(updates)}"
    )


def _alert_row(write: AlertWrite) -> tuple[Any, ...]:
    f, s = write.display, write.state
    return (
        write.id, f.fingerprint, f.rule_id, f.agent, f.domain, f.device_id, f.host, f.title,
        f.summary, _json(f.labels).decode(), s.status, s.severity, s.base_severity, s.flapping,
        s.suppressed_by, s.occurrences, s.first_seen, s.last_seen, s.resolved_at,
        _json(list(s.transitions)).decode(), s.last_notified_at, None, None, None,
        write.last_finding_id, write.now, write.reopened, write.keep_display,
    )  # fmt: skip


async def upsert_alerts(session: AsyncSession, writes: Sequence[AlertWrite]) -> None:
    """Write each alert with one upsert keyed by its fingerprint (one ``executemany``)."""
    if not writes:
        return
    conn = await session.connection()
    rows = [_alert_row(w) for w in sorted(writes, key=lambda w: w.display.fingerprint)]
    await conn.exec_driver_sql(_alert_upsert_sql(conn.dialect.name), rows)


async def insert_history(session: AsyncSession, entries: Sequence[HistoryEntry]) -> None:
    """Append rows to ``alert_history``."""
    if not entries:
        return
    conn = await session.connection()
    marks = ", ".join(_placeholders(conn.dialect.name, 9))
    sql = (
        "INSERT INTO alert_history (id, alert_id, at, change, status, severity, actor, detail, "
        f"finding_id) VALUES ({marks}) ON CONFLICT (id) DO NOTHING"
    )
    rows = [
        (e.id, e.alert_id, e.at, e.change, e.status, e.severity, e.actor, e.detail, e.finding_id)
        for e in entries
    ]
    await conn.exec_driver_sql(sql, rows)


async def suppressed_alerts(session: AsyncSession) -> list[Any]:
    """Rows of every alert that carries a suppression mark."""
    stmt = sa.select(alerts).where(alerts.c.suppressed_by != "").order_by(alerts.c.id)
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await session.execute(stmt))


async def update_alert(session: AsyncSession, alert_id: str, **values: Any) -> Any | None:
    """Set ``values`` on the alert; its row afterwards, or ``None`` when there is no such alert."""
    stmt = sa.update(alerts).where(alerts.c.id == alert_id).values(**values).returning(alerts)
    return (await session.execute(stmt)).first()


async def history_of_findings(session: AsyncSession, finding_ids: Sequence[str]) -> list[Any]:
    """History rows caused by ``finding_ids`` (oldest first), each with its alert's
    ``fingerprint``, ``occurrences``, ``rule_id``, ``device_id``, ``title``,
    ``suppressed_by`` and ``last_notified_at``."""
    if not finding_ids:
        return []
    h, a = alert_history.c, alerts.c
    columns = (h.alert_id, h.at, h.change, h.status, h.severity, h.finding_id, a.fingerprint,
               a.occurrences, a.rule_id, a.device_id, a.title, a.suppressed_by,
               a.last_notified_at)  # fmt: skip
    stmt = (
        sa.select(*columns)
        .join(alerts, a.id == h.alert_id)
        .where(h.finding_id.in_(list(finding_ids)))
        .order_by(h.id)
    )
    return list(await session.execute(stmt))
