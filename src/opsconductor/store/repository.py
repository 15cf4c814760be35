"""All SQL of the store, in one import: events, devices and dead letters.

The functions take an ``AsyncSession`` and run in its transaction; the caller (the edge)
commits. The one exception is ``delete_events_before``, which commits per chunk by design.
"""

from __future__ import annotations

from opsconductor.store.deadletters import DeadLetterRow, add_dead_letters, list_dead_letters
from opsconductor.store.devices import DeviceRow, get_device, list_devices, upsert_devices
from opsconductor.store.events import (
    EventFilter,
    EventRow,
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
    "EventRow",
    "Page",
    "add_dead_letters",
    "add_events",
    "count_events",
    "delete_events_before",
    "get_device",
    "get_event",
    "list_dead_letters",
    "list_devices",
    "list_events",
    "upsert_devices",
]
