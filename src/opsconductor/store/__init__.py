"""The store: engines and sessions, tables, Alembic migrations and the repository.

SQLite (WAL) in the data directory by default, PostgreSQL (asyncpg) when distributed; the
same functions serve both. See ``tables`` for the schema and index choices, ``events`` for
the hot-path insert.

The functions take an ``AsyncSession`` and run in its transaction; the caller (the edge)
commits. The one exception is ``delete_events_before``, which commits per chunk by design.
"""

from __future__ import annotations

from opsconductor.store.deadletters import DeadLetterRow, add_dead_letters, list_dead_letters
from opsconductor.store.devices import DeviceRow, get_device, list_devices, upsert_devices
from opsconductor.store.engine import create_engine, ping, session_factory, upgrade
from opsconductor.store.events import (
    EventFilter,
    add_events,
    count_events,
    delete_events_before,
    get_event,
    list_events,
)
from opsconductor.store.pagination import MAX_LIMIT, Page

__all__ = [
    "MAX_LIMIT",
    "DeadLetterRow",
    "DeviceRow",
    "EventFilter",
    "Page",
    "add_dead_letters",
    "add_events",
    "count_events",
    "create_engine",
    "delete_events_before",
    "get_device",
    "get_event",
    "list_dead_letters",
    "list_devices",
    "list_events",
    "ping",
    "session_factory",
    "upgrade",
    "upsert_devices",
]
