"""RFC 3164 (BSD syslog) as senders really write it.

``[<PRI>][ ]TIMESTAMP [HOSTNAME] [facility.severity] TAG[[pid]]: MSG`` where TIMESTAMP is
``Mmm dd hh:mm:ss`` (any letter case, optional fraction, optional year before the time or
year / zone abbreviation after it, a stray colon after it tolerated) or an RFC 3339 stamp.
The HOSTNAME is left out when the first word is already a tag (``dropbear[5380]:``) or a
``facility.severity`` keyword. Without a ``TAG:`` the whole rest is the message and the
record is ``partial``.
"""

from __future__ import annotations

import re

from opsconductor.parse.model import FACILITY_SEVERITY, Parsed, facility_severity, take_tag
from opsconductor.parse.timestamps import ENGLISH_MONTHS, Clock, micros, zone_offset

_BSD = re.compile(
    r"([A-Za-z]{3}) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{1,2}):(\d{2}):(\d{2})(\.\d{1,9})?:?(?= |$)"
)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(Z|[+-]\d{2}:?\d{2})?(?= |$)"
)

# The usual shape, ``<PRI>Mmm dd hh:mm:ss host prog[pid]: msg``, in one match. The host must
# hold a lower-case letter (so it is neither a year nor a zone abbreviation) and no ``:[]``
# (so it is not a TAG); the TAG is ``model.TAG``. Anything else takes the general path.
_COMMON = re.compile(
    r"<(0|[1-9]\d{0,2})>([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) "
    r"([\w.-]*[a-z][\w.-]*) "
    r"([^\s\[\]:]{1,128})(?:\[([^\]\s]{0,32})\](?::)?|:)(?= |$)"
)


def parse_common(text: str, clock: Clock) -> Parsed | None:
    """The usual RFC 3164 record (PRI, timestamp without year, host, TAG), exactly as
    ``parse_bsd`` reads it but in one regex; None for anything else (then try the rest)."""
    match = _COMMON.match(text)
    if match is None:
        return None
    pri_text, month_name, day, hour, minute, second, host, program, procid = match.groups()
    pri = int(pri_text)
    month = ENGLISH_MONTHS.get(month_name)
    if pri > 191 or month is None or host in FACILITY_SEVERITY:
        return None
    time = (int(hour), int(minute), int(second))
    timestamp = clock.without_year((month, int(day)), time, 0, None)
    return Parsed(
        "rfc3164", "ok", timestamp, host, pri >> 3, pri & 7, program, procid or "", "",
        text[match.end() + 1 :],
    )  # fmt: skip


def parse_bsd(text: str, clock: Clock, pri: int | None) -> Parsed | None:
    """Parse ``text`` (after any PRI). Without PRI a timestamp is required (else None); with a
    PRI the record is RFC 3164 even when nothing else is recognised."""
    if pri is not None and text.startswith(" "):
        text = text[1:]
    found = _timestamp(text, clock)
    if found is None and pri is None:
        return None  # before building anything: most lines reaching here are not BSD syslog
    parsed = Parsed("rfc3164")
    if pri is not None:
        parsed.facility, parsed.severity = pri >> 3, pri & 7
    if found is None:
        parsed.status = "partial"
        parsed.message = text
        return parsed
    parsed.timestamp, rest = found
    _host_and_tag(parsed, rest)
    return parsed


def _timestamp(text: str, clock: Clock) -> tuple[float | None, str] | None:
    """Epoch seconds of the timestamp (and a year / zone after it) and the rest, or None if
    ``text`` does not start with one."""
    match = _BSD.match(text)
    if match is not None:
        return _bsd_stamp(match, text, clock)
    match = _ISO.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(8)
    offset = None
    if zone:
        offset = 0 if zone == "Z" else zone_offset("UTC" + zone[:3] + zone[-2:])
    stamp = ((year, month, day), (hour, minute, second))
    return clock.epoch(*stamp, micros(match.group(7)), offset), text[match.end() + 1 :]


def _bsd_stamp(match: re.Match[str], text: str, clock: Clock) -> tuple[float | None, str] | None:
    month = ENGLISH_MONTHS.get(match.group(1).capitalize())
    if month is None:
        return None
    _, day_text, year_text, hour_text, minute_text, second_text, fraction = match.groups()
    day, hour, minute, second = int(day_text), int(hour_text), int(minute_text), int(second_text)
    year = int(year_text) if year_text else None
    rest = text[match.end() + 1 :]
    offset = None
    for _ in range(2):  # "05:34:00 CST 1987 host", "22:18:24 2009 host"
        word, _, after = rest.lstrip(" ").partition(" ")
        if year is None and len(word) == 4 and word.isdigit() and 1970 <= int(word) < 2100:
            year, rest = int(word), after
        elif offset is None and word.isupper() and (found := zone_offset(word)) is not None:
            offset, rest = found, after
        else:
            break
    frac = micros(fraction)
    if year is None:
        timestamp = clock.without_year((month, day), (hour, minute, second), frac, offset)
    else:
        timestamp = clock.epoch((year, month, day), (hour, minute, second), frac, offset)
    return timestamp, rest.lstrip(" ")


def _host_and_tag(parsed: Parsed, rest: str) -> None:
    """``[HOSTNAME] [facility.severity] TAG: MSG``."""
    word, _, after = rest.partition(" ")
    if word and not _is_tag(word) and facility_severity(word) is None:
        parsed.host = word
        rest = after
        word, _, after = rest.partition(" ")
    pair = facility_severity(word)
    if pair is not None:
        parsed.facility, parsed.severity = pair
        rest = after
    if not rest:
        parsed.status = "partial"
        return
    take_tag(parsed, rest)


def _is_tag(word: str) -> bool:
    """``prog:`` or ``prog[pid]:`` — a first word that cannot be a host name."""
    return (word.endswith(":") and word.count(":") == 1 and len(word) > 1) or (
        word.endswith("]:") and "[" in word
    )
