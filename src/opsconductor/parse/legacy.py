"""Everything that is not RFC 5424: pick the format from the first characters, try the
parsers that fit, and fall back to a ``generic`` record that keeps the whole text.

Order matters and is part of the contract (see ``docs/parsing.md``): a valid ``<PRI>`` makes
a record RFC 3164 (or a kernel console line when ``[uptime]`` follows); a ``[`` starts a
kernel or LuCI line; a digit a time-only, day-first or RFC 3339 line; a letter logread,
pipe-delimited, BSD syslog without PRI, ``facility.severity``-only or raw program output.
"""

from __future__ import annotations

import re

from opsconductor.parse.luci import parse_luci, parse_luci_dmy
from opsconductor.parse.model import Parsed, refine
from opsconductor.parse.openwrt import (
    parse_facility_only,
    parse_kernel,
    parse_logread,
    parse_pipe,
    parse_program_only,
    parse_time_only,
)
from opsconductor.parse.rfc3164 import parse_bsd, parse_common
from opsconductor.parse.timestamps import Clock

_PRI = re.compile(r"<(\d{1,3})>")


def parse_text(text: str, clock: Clock) -> Parsed:
    """One Parsed for any non-RFC 5424 text; never fails (``generic`` at worst)."""
    parsed = _dispatch(text, clock)
    if parsed is None:
        return Parsed("generic", "generic", message=text)
    refine(parsed)
    return parsed


def _dispatch(text: str, clock: Clock) -> Parsed | None:
    first = text[:1]
    if first == "<":
        return parse_common(text, clock) or _with_pri(text, clock)
    if first == "[":
        return parse_kernel(text) or parse_luci(text, clock)
    if first.isdigit():
        return (
            parse_time_only(text, clock)
            or parse_luci_dmy(text, clock)
            or parse_bsd(text, clock, None)
        )
    if first.isalpha():
        return (
            parse_logread(text, clock)
            or parse_pipe(text, clock)
            or parse_bsd(text, clock, None)
            or parse_facility_only(text)
            or parse_program_only(text)
        )
    return None


def _with_pri(text: str, clock: Clock) -> Parsed | None:
    """``<PRI>`` + rest. An invalid PRI (RFC 3164 §4.3.3) leaves the whole text as content."""
    match = _PRI.match(text)
    if match is None:
        return None
    digits = match.group(1)
    if int(digits) > 191 or (digits.startswith("0") and digits != "0"):
        return None
    rest = text[match.end() :]
    if rest.startswith("["):
        kernel = parse_kernel(text)
        if kernel is not None:
            return kernel
    return parse_bsd(rest, clock, int(digits))
