"""The audit log: append-only records chained by hashes, and the check of the chain.

Each record holds a sequence number and the SHA-256 of the previous record, and its own hash
covers both and every field. Changing a record breaks its hash; deleting one leaves a gap in
the sequence and breaks the next record's link; reordering breaks the links. ``verify_chain``
walks the log and names the first record that does not hold. (Cutting the newest records off
the end leaves a shorter, intact chain: the figure to compare is the count the API reports.)

Appending reads the newest record and writes the next one in the caller's transaction;
writers take turns — on PostgreSQL through a transaction lock, in one process through the
caller's lock — and the sequence is the primary key, so two writers can never both commit
the same position.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import InputError
from opsconductor.store.bulk import transaction_lock
from opsconductor.store.pagination import decode_text_cursor, encode_cursor
from opsconductor.store.tables import audit_log
from opsconductor.store.text import contains_text

GENESIS = "0" * 64
"""The ``prev_hash`` of the first record."""
_LOCK_KEY = 0x61756474  # "audt": serializes appends on PostgreSQL
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened: who did what to which target, from where, with which outcome."""

    at: float
    actor: str
    role: str
    action: str
    target: str
    source: str
    outcome: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of ``verify_chain``: how many records were read, and the first fault."""

    records: int
    fault: str | None = None
    seq: int | None = None

    @property
    def intact(self) -> bool:
        """True when every record holds."""
        return self.fault is None


def record_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """The hash of one record: every field, its position and its predecessor's hash."""
    body = [
        seq, entry.at, entry.actor, entry.role, entry.action, entry.target, entry.source,
        entry.outcome, dict(entry.detail), prev_hash,
    ]  # fmt: skip
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


async def append_audit(session: AsyncSession, entry: AuditEntry) -> int:
    """Append ``entry`` after the newest record (the caller commits); returns its sequence."""
    await transaction_lock(session, _LOCK_KEY)
    last = (
        await session.execute(
            sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).first()
    seq, prev = (1, GENESIS) if last is None else (int(last.seq) + 1, str(last.hash))
    await session.execute(
        sa.insert(audit_log).values(
            seq=seq, at=entry.at, actor=entry.actor, role=entry.role, action=entry.action,
            target=entry.target, source=entry.source, outcome=entry.outcome,
            detail=dict(entry.detail), prev_hash=prev, hash=record_hash(seq, entry, prev),
        )
    )  # fmt: skip
    return seq


async def _records(session: AsyncSession) -> AsyncIterator[Any]:
    after = 0
    while True:
        stmt = (
            sa.select(audit_log)
            .where(audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(_CHUNK)
        )
        rows = list(await session.execute(stmt))
        for row in rows:
            yield row
        if len(rows) < _CHUNK:
            return
        after = int(rows[-1].seq)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row.at, row.actor, row.role, row.action, row.target, row.source, row.outcome,
        dict(row.detail or {}),
    )  # fmt: skip


async def verify_chain(session: AsyncSession) -> ChainCheck:
    """Walk the whole log oldest first and report the first record that does not hold."""
    expected_seq, prev, count = 1, GENESIS, 0
    async for row in _records(session):
        seq = int(row.seq)
        if seq != expected_seq:
            return ChainCheck(count, f"record {expected_seq} is missing", expected_seq)
        if row.prev_hash != prev:
            return ChainCheck(count, f"record {seq} does not follow record {seq - 1}", seq)
        if record_hash(seq, _entry(row), prev) != row.hash:
            return ChainCheck(count, f"record {seq} was changed", seq)
        expected_seq, prev, count = seq + 1, str(row.hash), count + 1
    return ChainCheck(count)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records to list: of one actor, with ``action`` in their action, of one outcome
    (``None``: any)."""

    actor: str | None = None
    action: str | None = None
    outcome: str | None = None


def audit_position(cursor: str) -> int:
    """The sequence number a listing's cursor stands at; ``InputError`` if it is none."""
    kind, after = decode_text_cursor(cursor)
    if kind != "audit" or not re.fullmatch(r"[0-9]{1,18}", after):
        raise InputError("invalid cursor: not a position in the audit log")
    return int(after)


async def list_records(
    session: AsyncSession, flt: AuditFilter, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Records matching ``flt``, newest first, one keyset page after ``cursor``: the rows
    and the next page's cursor (``None`` at the end)."""
    stmt = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit + 1)
    if flt.actor is not None:
        stmt = stmt.where(audit_log.c.actor == flt.actor)
    if flt.action:
        stmt = stmt.where(contains_text(audit_log.c.action, flt.action))
    if flt.outcome is not None:
        stmt = stmt.where(audit_log.c.outcome == flt.outcome)
    if cursor:
        stmt = stmt.where(audit_log.c.seq < audit_position(cursor))
    rows = list(await session.execute(stmt))
    more = len(rows) > limit
    del rows[limit:]
    return rows, encode_cursor(("audit", str(rows[-1].seq))) if more else None
