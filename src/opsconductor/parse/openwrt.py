"""OpenWrt's own log shapes: logread, kernel console, time-only, pipe-delimited,
``facility.severity``-only and raw program output. (LuCI's bracketed and day-first
timestamps live in ``luci``.)
"""

from __future__ import annotations

import re

from opsconductor.parse.model import (
    FACILITY_SEVERITY,
    OPTIONAL_TAG,
    Parsed,
    facility_severity,
    matched_tag,
    take_tag,
)
from opsconductor.parse.timestamps import ENGLISH_MONTHS, Clock

_LOGREAD = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<stamp>(?P<month>[A-Z][a-z]{2}) {1,2}\d{1,2} "
    r"\d{2}:\d{2}:\d{2} \d{4}) (?P<level>[a-z0-9]+\.[a-z]+) " + OPTIONAL_TAG
)
_TIME_ONLY = re.compile(r"(\d{2}):(\d{2}):(\d{2}) ([a-z0-9]+\.[a-z]+) ")
_PIPE = re.compile(
    r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) \| ([^|]*?) \| (\d*) \| "
)
_FACILITY_ONLY = re.compile(r"([a-z0-9]+\.[a-z]+) ")
_PROGRAM_ONLY = re.compile(r"([A-Za-z][\w.-]{0,63})\[(\d{1,10})\]: ")
_KERNEL = re.compile(r"(?:<(\d{1,3})>)?\[\s*(\d+\.\d+)\] ?")


def parse_logread(text: str, clock: Clock) -> Parsed | None:
    """``Sun Jul 19 21:22:03 2020 daemon.notice netifd: msg``."""
    match = _LOGREAD.match(text)
    if match is None:
        return None
    pair = FACILITY_SEVERITY.get(match.group("level"))
    if pair is None or match.group("month") not in ENGLISH_MONTHS:
        return None
    parsed = Parsed("logread", facility=pair[0], severity=pair[1])
    parsed.timestamp = clock.epoch_of_text(match.group("stamp"), _logread_fields)
    matched_tag(parsed, match, text)
    return parsed


def _logread_fields(stamp: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """``Jul 19 21:22:03 2020`` → ((2020, 7, 19), (21, 22, 3)) (already matched by _LOGREAD)."""
    month, day, time, year = stamp.split()
    hour, minute, second = time.split(":")
    return (int(year), ENGLISH_MONTHS[month], int(day)), (int(hour), int(minute), int(second))


def parse_time_only(text: str, clock: Clock) -> Parsed | None:
    """``01:46:16 daemon.info odhcpd[1900]: msg`` — the date comes from ``received_at``."""
    match = _TIME_ONLY.match(text)
    if match is None:
        return None
    pair = facility_severity(match.group(4))
    if pair is None:
        return None
    parsed = Parsed("time_only", facility=pair[0], severity=pair[1])
    hour, minute, second = (int(match.group(i)) for i in (1, 2, 3))
    parsed.timestamp = clock.time_only(hour, minute, second)
    take_tag(parsed, text[match.end() :])
    return parsed


def parse_pipe(text: str, clock: Clock) -> Parsed | None:
    """``Aug  4 11:35:37 | hostapd | 11217 | msg``."""
    match = _PIPE.match(text)
    if match is None:
        return None
    month = ENGLISH_MONTHS.get(match.group(1))
    if month is None:
        return None
    parsed = Parsed("pipe", program=match.group(6).strip(), procid=match.group(7))
    day, hour, minute, second = (int(match.group(i)) for i in (2, 3, 4, 5))
    parsed.timestamp = clock.without_year((month, day), (hour, minute, second))
    parsed.message = text[match.end() :]
    if not parsed.program:
        parsed.status = "partial"
    return parsed


def parse_facility_only(text: str) -> Parsed | None:
    """``daemon.warn dnsmasq[5877]: msg`` — no timestamp, so always ``partial``."""
    match = _FACILITY_ONLY.match(text)
    if match is None:
        return None
    pair = facility_severity(match.group(1))
    if pair is None:
        return None
    parsed = Parsed("facility_only", facility=pair[0], severity=pair[1])
    take_tag(parsed, text[match.end() :])
    parsed.status = "partial"
    return parsed


def parse_program_only(text: str) -> Parsed | None:
    """``odhcp6c[11609]: msg`` — raw program output. A bare ``word:`` (``wlan1: STA …``) is
    not taken as a program: too many messages start that way; those lines stay generic."""
    match = _PROGRAM_ONLY.match(text)
    if match is None:
        return None
    return Parsed(
        "program_only", "partial", program=match.group(1), procid=match.group(2),
        message=text[match.end() :],
    )  # fmt: skip


def parse_kernel(text: str) -> Parsed | None:
    """``<4>[ 1771.264287] msg`` or ``[ 2254.565470] msg``: kernel console / dmesg.

    The ``<N>`` is the kernel log level (the severity); the facility is always kern.
    """
    match = _KERNEL.match(text)
    if match is None:
        return None
    parsed = Parsed("kernel", "partial", facility=0, program="kernel")
    level = match.group(1)
    if level is not None:
        value = int(level)
        parsed.severity = value & 7
        parsed.extra["kernel_level"] = level
        if value > 7:
            parsed.facility = value >> 3
    parsed.extra["uptime"] = match.group(2)
    parsed.message = text[match.end() :].lstrip(" ")
    return parsed
