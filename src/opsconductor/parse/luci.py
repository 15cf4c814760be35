"""LuCI's log view: a bracketed, browser-localised timestamp, or a day-first date.

* ``[12 dic 2025, 20:45:19 CET] daemon.notice: odhcp6c[7094]: msg``
* ``[2026年3月20日 GMT+8 14:38:31] daemon.info: odhcpd[2254]: msg``
* ``[Jul 5, 2026, 1:21:09 PM GMT+2] daemon.debug: hostapd: msg``
* ``28. 02. 2023 10:34:49 notice hostapd[]: msg`` (format ``luci_dmy``)

The bracket is read by parts, whatever their order: a time (12 h with AM/PM or 24 h), a
zone (``GMT+8``, ``UTC-3``, or an abbreviation written in capitals), and a date — CJK
``年月日``, numeric (year first when it has four digits, ``m/d/y`` with slashes, otherwise
day first) or a month name from ``timestamps.MONTHS`` with a day and a year.
"""

from __future__ import annotations

import re
from functools import lru_cache

from opsconductor.parse.model import SEVERITIES, Parsed, facility_severity, take_tag
from opsconductor.parse.timestamps import Clock, micros, month_number, zone_offset

_BRACKET = re.compile(r"\[([^\[\]]{6,64})\] ")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d{1,6}))?(?:\s*([AaPp])\.?\s?[Mm]\.?)?")
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_NUMERIC = re.compile(r"(\d{1,4})\s*([./-])\s*(\d{1,2})\s*[./-]\s*(\d{1,4})")
_WORD = re.compile(r"(?:GMT|UTC)[+-]\d{1,2}(?::?\d{2})?|[^\W\d_]+\.?|\d+")
_DMY = re.compile(
    r"(\d{1,2})\. ?(\d{1,2})\. ?(\d{4}),? (\d{1,2}):(\d{2}):(\d{2}) ([a-z0-9]+(?:\.[a-z]+)?) "
)

_Date = tuple[int | None, int, int]


def parse_luci(text: str, clock: Clock) -> Parsed | None:
    """A LuCI line with a bracketed localised timestamp; None when it is not one."""
    match = _BRACKET.match(text)
    if match is None:
        return None
    stamp = locale_timestamp(match.group(1), clock)
    if stamp is None:
        return None
    parsed = Parsed("luci", timestamp=stamp)
    word, _, after = text[match.end() :].partition(" ")
    pair = facility_severity(word.rstrip(":"))
    if pair is None:
        take_tag(parsed, text[match.end() :])
        parsed.status = "partial"
        return parsed
    parsed.facility, parsed.severity = pair
    take_tag(parsed, after)
    return parsed


def parse_luci_dmy(text: str, clock: Clock) -> Parsed | None:
    """``28. 02. 2023 10:34:49 notice hostapd[]: msg`` (day first, severity word only)."""
    match = _DMY.match(text)
    if match is None:
        return None
    level = match.group(7)
    pair = facility_severity(level)
    severity = pair[1] if pair else SEVERITIES.get(level)
    if severity is None:
        return None
    parsed = Parsed("luci_dmy", facility=pair[0] if pair else None, severity=severity)
    day, month, year, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    parsed.timestamp = clock.epoch((year, month, day), (hour, minute, second))
    take_tag(parsed, text[match.end() :])
    return parsed


def locale_timestamp(content: str, clock: Clock) -> float | None:
    """Epoch seconds of a browser-localised date and time; None when no date or time."""
    fields = _bracket_fields(content)
    if fields is None:
        return None
    (year, month, day), time, frac, offset = fields
    if year is None:
        return clock.without_year((month, day), time, frac, offset)
    return clock.epoch((year, month, day), time, frac, offset)


_Fields = tuple[_Date, tuple[int, int, int], int, int | None]


@lru_cache(maxsize=4096)
def _bracket_fields(content: str) -> _Fields | None:
    """(date, time, microseconds, zone offset) the bracket states; None without a date or
    time. Pure and slow (several regexes), so memoised: a stream repeats its stamps."""
    time_match = _TIME.search(content)
    if time_match is None:
        return None
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    second = int(time_match.group(3) or 0)
    meridiem = (time_match.group(5) or "").lower()
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    rest = content[: time_match.start()] + " " + content[time_match.end() :]
    date = _date(rest)
    if date is None:
        return None
    return date, (hour, minute, second), micros(time_match.group(4)), _zone(rest)


def _date(text: str) -> _Date | None:
    """(year or None, month, day) from CJK, numeric or month-name forms."""
    match = _CJK.search(text)
    if match is not None:
        return int(match.group(1)), int(match.group(2)), int(match.group(3))
    match = _NUMERIC.search(text)
    if match is not None:
        first, separator, second, third = match.groups()
        if len(first) == 4:
            return int(first), int(second), int(third)
        if separator == "/" and int(first) <= 12:
            return int(third), int(first), int(second)
        return int(third), int(second), int(first)
    month = day = year = None
    for word in _WORD.findall(text):
        if word.isdigit():
            if len(word) == 4 and year is None:
                year = int(word)
            elif len(word) <= 2 and day is None:
                day = int(word)
        elif month is None:
            month = month_number(word)
    if month is None or day is None:
        return None
    return year, month, day


def _zone(text: str) -> int | None:
    """The offset named by a ``GMT+8``-style token or a capitalised abbreviation."""
    for word in _WORD.findall(text):
        if word.isupper() or word.startswith(("GMT", "UTC")):
            offset = zone_offset(word.rstrip("."))
            if offset is not None:
                return offset
    return None
