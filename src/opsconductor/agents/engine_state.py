"""What rule evaluation remembers between events, bounded and serialisable.

``Mark`` is one event reduced to its id and times; ``Memory`` adds what a finding needs
later (the device, the field values for labels and templates), for findings raised by a
timer when no event is at hand. ``KeyTable`` holds per-key state with a cap: the key used
longest ago is evicted first, and evictions are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import msgspec

DEFAULT_MAX_KEYS = 100_000
"""Per-rule cap on the keys (devices, addresses…) whose state is kept."""

T = TypeVar("T")


class Mark(msgspec.Struct, array_like=True):
    """One event: its id, the time it states and the time it was received."""

    event_id: str
    timestamp: float
    received_at: float


class Memory(msgspec.Struct, array_like=True):
    """One event as a later finding needs it: where it came from and its field values."""

    mark: Mark
    device_id: str
    host: str
    domain: str
    values: dict[str, str]


class KeyTable(Generic[T]):
    """Per-key state, most recently used last, at most ``limit`` keys."""

    __slots__ = ("evicted", "items", "limit")

    def __init__(self, limit: int = DEFAULT_MAX_KEYS) -> None:
        self.items: dict[str, T] = {}
        self.limit = limit
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.items))

    def get(self, key: str) -> T | None:
        """The state of ``key``, if any (does not count as a use)."""
        return self.items.get(key)

    def put(self, key: str, value: T) -> None:
        """Store ``value`` as the most recently used; evict the oldest key beyond the limit."""
        self.items.pop(key, None)
        self.items[key] = value
        while len(self.items) > self.limit:
            del self.items[next(iter(self.items))]
            self.evicted += 1

    def pop(self, key: str) -> T | None:
        """Forget ``key``; its state, if any."""
        return self.items.pop(key, None)

    def clear(self) -> None:
        """Forget every key."""
        self.items.clear()


def insert_sorted(marks: list[Mark], mark: Mark) -> None:
    """Insert ``mark`` by stated time (events of a key may arrive out of order)."""
    index = len(marks)
    while index > 0 and marks[index - 1].timestamp > mark.timestamp:
        index -= 1
    marks.insert(index, mark)


def trim_window(marks: list[Mark], window: float, keep: int) -> None:
    """Drop marks older than ``window`` before the newest, then all but the newest ``keep``."""
    if marks:
        start = marks[-1].timestamp - window
        drop = 0
        while drop < len(marks) and marks[drop].timestamp < start:
            drop += 1
        drop = max(drop, len(marks) - keep)
        if drop:
            del marks[:drop]
