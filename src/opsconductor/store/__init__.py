"""The store: engines and sessions, tables, Alembic migrations and the repository.

SQLite (WAL) in the data directory by default, PostgreSQL (asyncpg) when distributed; the
same functions serve both. See ``tables`` for the schema and index choices, ``events`` for
the hot-path insert.
"""

from __future__ import annotations

from opsconductor.store.engine import create_engine, ping, session_factory, upgrade
from opsconductor.store.repository import (
    MAX_LIMIT,
    DeadLetterRow,
    DeviceRow,
    EventFilter,
    EventRow,
    Page,
    add_dead_letters,
    add_events,
    count_events,
    delete_events_before,
    get_device,
    get_event,
    list_dead_letters,
    list_devices,
    list_events,
    upsert_devices,
)

__all__ = [
    "MAX_LIMIT",
    "DeadLetterRow",
    "DeviceRow",
    "EventFilter",
    "EventRow",
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
