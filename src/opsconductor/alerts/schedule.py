"""Maintenance schedules: when a recurring window is open, in the window's own time zone.

Two kinds of schedule document::

    {"kind": "weekly", "days": ["sat", "sun"], "start": "02:00", "duration": 7200,
     "timezone": "Europe/Berlin"}
    {"kind": "cron", "cron": "0 2 * * 6", "duration": 7200, "timezone": "America/New_York"}

A schedule yields *start instants*; each opens the window for ``duration`` seconds. Cron
expressions are the standard five fields (minute hour day-of-month month day-of-week, names
and ``*/n`` steps allowed, parsed by ``croniter``; when both day fields are restricted either
may match, as in cron). ``timezone`` defaults to ``UTC``; ``duration`` is 1 s … 7 days.

Daylight saving time — a start is a local wall-clock time turned into an instant:
    * ``duration`` is real elapsed seconds from that instant, whatever the clocks do meanwhile
      (a 02:00 start with 7200 s on the night clocks go back ends at the second 03:00).
    * A start that does not exist that day (skipped when clocks go forward) opens the window
      at the first instant after the gap (03:00 CEST for a 02:30 Europe/Berlin start on
      2026-03-29); its end is still ``duration`` after that instant.
    * A start that exists twice (clocks go back) uses the first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from opsconductor.errors import InputError

MAX_DURATION = 7 * 86400.0
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_FULL_NAMES = {
    name: i
    for i, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
_ONE_DAY = timedelta(days=1)
_MINUTES = tuple(range(60))
_HOURS = tuple(range(24))


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InputError("timezone must be an IANA name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InputError(
            f"unknown timezone {name!r}; use an IANA name such as 'Europe/Berlin'"
        ) from exc


def _duration(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError("duration must be a number of seconds")
    if not 0 < value <= MAX_DURATION:
        raise InputError(f"duration must be more than 0 and at most {int(MAX_DURATION)} s (7 days)")
    return float(value)


def to_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> float:
    """The epoch instant of wall-clock ``day hour:minute`` in ``zone`` (DST rules: module doc)."""
    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)  # fold=0: first
    instant = wall.timestamp()
    if datetime.fromtimestamp(instant, zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # In a gap: fold=1 reads the wall time with the offset after the change (an earlier
    # instant), fold=0 with the offset before; the change lies between them.
    low, high = int(wall.replace(fold=1).timestamp()), int(instant)
    after = datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return float(high)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated recurring schedule: wall-clock start times on matching local days, held
    open for ``duration`` seconds. A weekly schedule is stored as the cron it amounts to."""

    kind: str
    zone: ZoneInfo
    duration: float
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    doms: frozenset[int] | None  # None: any day of the month
    months: frozenset[int] | None  # None: any month
    dows: frozenset[int] | None  # cron weekdays, Sunday 0; None: any
    text: str  # the cron expression, or the weekly start "HH:MM"

    def _times(self, day: date) -> list[tuple[int, int]]:
        """The wall-clock start times on local ``day``, earliest first."""
        if self.months is not None and day.month not in self.months:
            return []
        dom_ok = self.doms is None or day.day in self.doms
        dow_ok = self.dows is None or (day.weekday() + 1) % 7 in self.dows
        if self.doms is not None and self.dows is not None:
            day_ok = dom_ok or dow_ok  # cron: either restricted day field may match
        else:
            day_ok = dom_ok and dow_ok
        return [(h, m) for h in self.hours for m in self.minutes] if day_ok else []

    def _starts_on(self, day: date) -> list[float]:
        return sorted(to_instant(day, h, m, self.zone) for h, m in self._times(day))

    def _local_day(self, instant: float) -> date:
        return datetime.fromtimestamp(instant, self.zone).date()

    def active_start(self, now: float) -> float | None:
        """The start of the occurrence open at ``now`` (the latest if several), else ``None``."""
        day = self._local_day(now) + _ONE_DAY
        first = self._local_day(now - self.duration) - _ONE_DAY
        while day >= first:
            earlier = [s for s in self._starts_on(day) if s <= now]
            if earlier:
                latest = earlier[-1]
                return latest if now < latest + self.duration else None
            day -= _ONE_DAY
        return None

    def starts_after(self, moment: float, horizon: float = MAX_DURATION * 2) -> Iterator[float]:
        """Start instants after ``moment`` and before ``moment + horizon``, in order."""
        day = self._local_day(moment) - _ONE_DAY
        last = self._local_day(moment + horizon) + _ONE_DAY
        while day <= last:
            for start in self._starts_on(day):
                if moment < start < moment + horizon:
                    yield start
            day += _ONE_DAY

    def next_change_after(self, now: float) -> float | None:
        """When the window next opens or closes after ``now`` (within two weeks), else None."""
        start = self.active_start(now)
        opening = next(self.starts_after(now), None)
        ends = [start + self.duration] if start is not None else []
        candidates = ends + ([opening] if opening is not None else [])
        return min(candidates) if candidates else None


def parse_schedule(document: Mapping[str, Any]) -> Schedule:
    """Validate a schedule document (module doc); ``InputError`` says what is wrong."""
    if not isinstance(document, Mapping):
        raise InputError("schedule must be an object with a 'kind'")
    kind = document.get("kind")
    zone = _zone(document.get("timezone", "UTC"))
    duration = _duration(document.get("duration"))
    if kind == "weekly":
        hour, minute = _start(document.get("start"))
        weekdays = frozenset((day + 1) % 7 for day in _weekdays(document.get("days")))
        text = f"{hour:02d}:{minute:02d}"
        return Schedule("weekly", zone, duration, (minute,), (hour,), None, None, weekdays, text)
    if kind == "cron":
        expression = document.get("cron")
        minutes, hours, doms, months, dows = _cron(expression)
        times = tuple(minutes or _MINUTES), tuple(hours or _HOURS)
        return Schedule("cron", zone, duration, *times, doms, months, dows, str(expression))
    raise InputError(f"schedule kind must be 'weekly' or 'cron', not {kind!r}")


def _weekdays(days: object) -> set[int]:
    if not isinstance(days, list) or not days:
        raise InputError(f"days must be a non-empty list of {', '.join(DAY_NAMES)}")
    found = set()
    for name in days:
        key = str(name).strip().lower()
        index = DAY_NAMES.index(key) if key in DAY_NAMES else _FULL_NAMES.get(key)
        if index is None:
            raise InputError(f"unknown day {name!r}; use {', '.join(DAY_NAMES)}")
        found.add(index)
    return found


def _start(text: object) -> tuple[int, int]:
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InputError(f"start must be a time 'HH:MM' (00:00-23:59), not {text!r}")
    return int(match[1]), int(match[2])


_Days = frozenset[int] | None


def _field(values: list[Any]) -> _Days:
    return None if values == ["*"] else frozenset(int(v) for v in values)


def _cron(
    expression: object,
) -> tuple[
    list[int], list[int], frozenset[int] | None, frozenset[int] | None, frozenset[int] | None
]:
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise InputError(
            f"cron must have five fields (minute hour day month weekday), not {expression!r}"
        )
    if re.search(r"[#LW?]", expression, re.IGNORECASE):
        raise InputError(f"cron {expression!r}: only the standard five fields are supported")
    try:
        fields = croniter.expand(expression)[0]
    except ValueError as exc:
        raise InputError(f"invalid cron {expression!r}: {exc}") from exc
    minutes, hours, doms, months, dows = (_field(values) for values in fields)
    weekdays = None if dows is None else frozenset(d % 7 for d in dows)
    return sorted(minutes or ()), sorted(hours or ()), doms, months, weekdays
