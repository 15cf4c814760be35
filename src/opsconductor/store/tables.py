"""The store's tables, as SQLAlchemy Core ``Table`` objects (the hot path never builds ORM objects).

Times are ``double precision`` epoch seconds (UTC): the same number every stage already carries,
compact (8 bytes), exact through a JSON cursor, and compared without time-zone conversions.

Index choices for ``events`` (the table that grows to millions of rows). Each secondary index
is paid on every insert, so ``events`` has one:

primary key ``id``
    A ULID minted when the record was received. The listing is newest received first, so the
    key is also the main read path (keyset pagination by id, ``since``/``until`` as an id
    range) and the retention path (delete ids below the cutoff's ULID). On SQLite the table
    is ``WITHOUT ROWID``: rows are clustered by id and every insert appends.
``ix_events_device_id_id`` (device_id, id)
    "Events of this device": thousands of devices, many quiet, so scanning for one would walk
    most of the table; with ``id`` in the key a page is a pure index range scan, no sort.

Left out on purpose: an index on the stated ``timestamp`` (device clocks are often wrong, and
it cost ~25% of the SQLite insert rate with replayed logs), ``(domain, …)`` (a handful of
common values; ~15% of insert rate), ``severity``/``program``/``source`` (low cardinality,
usually combined with the above) and, on PostgreSQL, a ``pg_trgm`` GIN index on ``message``:
it made the substring search indexable but halved the insert rate (28k → 12.6k events/s,
batch 2000). These filters narrow the newest-first scan, which is quick whenever matches are
common; rare values are the price: a longer scan.

There is no foreign key from ``events.device_id`` to ``devices``: it would cost a lookup per
inserted row on the hot path, and every event's device row is upserted in the same transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")
"""JSON text on SQLite, ``jsonb`` on PostgreSQL."""

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("hostname", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Double, nullable=False),
    sa.Column("last_seen", sa.Double, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_devices_name_id", "name", "id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("peer", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("facility", sa.SmallInteger, nullable=True),
    sa.Column("severity", sa.SmallInteger, nullable=True),
    sa.Column("program", sa.Text, nullable=False),
    sa.Column("procid", sa.Text, nullable=False),
    sa.Column("msgid", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("structured_data", JsonDocument, nullable=False),
    sa.Column("extra", JsonDocument, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("parse_status", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Index("ix_events_device_id_id", "device_id", "id"),
    sqlite_with_rowid=False,
)

EVENT_COLUMNS: tuple[str, ...] = tuple(column.name for column in events.columns)
"""Column order of ``events``; the hot-path insert builds its tuples in this order."""

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("peer", sa.Text, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_dead_letters_received_at_id", "received_at", "id"),
    sa.Index("ix_dead_letters_source_received_at_id", "source", "received_at", "id"),
)


def as_columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Transpose row tuples into one list per column: the ``unnest`` arrays on PostgreSQL."""
    return tuple(list(column) for column in zip(*rows, strict=True))
