"""Keyset pagination: the ``Page`` every listing returns and its opaque cursor.

A cursor is the URL-safe base64 of a JSON array holding the sort key of the last row of the
page (e.g. ``[timestamp, id]``). It never encodes an offset, so pages stay fast and stable
while rows are inserted at the head or deleted at the tail.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import InputError

_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")

T = TypeVar("T")

MAX_LIMIT = 1000
"""Most rows one page may hold."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is ``None`` on the last page."""

    items: list[T]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    """``limit`` if it is a valid page size, else ``InputError``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def encode_cursor(key: tuple[float | str, str]) -> str:
    """The opaque cursor of a sort key ``(first, id)``."""
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def _decode(cursor: str, kind: type[tuple[float, str]] | type[tuple[str, str]]) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InputError("invalid cursor") from exc


def encode_id_cursor(record_id: str) -> str:
    """The opaque cursor after the record ``record_id`` in an id-ordered listing."""
    return encode_cursor(("id", record_id))


def decode_id_cursor(cursor: str) -> str:
    """The record id in a cursor from ``encode_id_cursor``; ``InputError`` otherwise."""
    kind, record_id = decode_text_cursor(cursor)
    if kind != "id" or not _ULID.fullmatch(record_id):
        raise InputError("invalid cursor")
    return record_id


def decode_float_cursor(cursor: str) -> tuple[float, str]:
    """The ``(number, id)`` key in ``cursor``; ``InputError`` when it is not one."""
    key = _decode(cursor, tuple[float, str])
    assert isinstance(key, tuple)
    return key[0], key[1]


def decode_text_cursor(cursor: str) -> tuple[str, str]:
    """The ``(text, id)`` key in ``cursor``; ``InputError`` when it is not one."""
    key = _decode(cursor, tuple[str, str])
    assert isinstance(key, tuple)
    return key[0], key[1]


def row_as(kind: type[T], row: sa.Row[Any]) -> T:
    """A row as the dataclass ``kind`` (its fields named like the row's columns)."""
    mapping = row._mapping
    return kind(**{f.name: mapping[f.name] for f in fields(kind)})  # type: ignore[arg-type]


async def newest_first(
    session: AsyncSession,
    table: sa.Table,
    kind: type[T],
    conditions: Sequence[sa.ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> Page[T]:
    """One keyset page of ``table`` (ULID ``id``) newest first, rows as ``kind``."""
    check_limit(limit)
    stmt = sa.select(table).where(*conditions).order_by(table.c.id.desc()).limit(limit + 1)
    if cursor is not None:
        stmt = stmt.where(table.c.id < decode_id_cursor(cursor))
    rows = list(await session.execute(stmt))
    if len(rows) <= limit:
        return Page([row_as(kind, row) for row in rows], None)
    del rows[limit:]
    return Page([row_as(kind, row) for row in rows], encode_id_cursor(rows[-1].id))


def resume_after(cursor: str | None, kind: str) -> str | None:
    """The key a ``kind`` listing continues after (``None`` from the start); ``InputError``
    for a cursor of another listing."""
    if cursor is None:
        return None
    found, after = decode_text_cursor(cursor)
    if found != kind:
        raise InputError("invalid cursor")
    return after


def keyed_page(
    rows: list[Any], limit: int, kind: str, key: Callable[[Any], str]
) -> tuple[list[Any], str | None]:
    """``rows`` (fetched ``limit + 1``) cut to one page, and the cursor of the next page."""
    more = len(rows) > limit
    del rows[limit:]
    return rows, encode_cursor((kind, key(rows[-1]))) if more else None
