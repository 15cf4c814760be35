"""The byte-by-byte RFC 5424 scanner behind ``rfc5424``: exact go-syslog errors and columns.

Columns are byte offsets where go-syslog's Ragel machine stops. Which error a position gets
follows the machine: inside (or right after) HOSTNAME, APP-NAME, PROCID and MSGID their own
error; after a complete TIMESTAMP or a one-digit VERSION the general ``parsing error``;
inside a PARAM-VALUE the escape error; after its closing quote the SD-PARAM error.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

ERR_PRIVAL = "expecting a priority value in the range 1-191 or equal to 0"
ERR_PRI = "expecting a priority value within angle brackets"
ERR_VERSION = "expecting a version value in the range 1-999"
ERR_TIMESTAMP = "expecting a RFC3339MICRO timestamp or a nil value"
ERR_HOSTNAME = "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value"
ERR_APPNAME = "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value"
ERR_PROCID = "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value"
ERR_MSGID = "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value"
ERR_SD = (
    "expecting a structured data section containing one or more elements "
    '(`[id( key="value")*]+`) or a nil value'
)
ERR_SDID = (
    "expecting a structured data element id (from 1 to max 32 US-ASCII characters; "
    'except `=`, ` `, `]`, and `"`'
)
ERR_SDID_DUPLICATE = "duplicate structured data element id"
ERR_SDPARAM = (
    '(`key="value"`, both part from 1 to max 32 US-ASCII characters; key cannot contain '
    '`=`, ` `, `]`, and `"`, while value cannot contain `]`, backslash, and `"` unless escaped)'
)
ERR_SDPARAM = "expecting a structured data parameter " + ERR_SDPARAM
ERR_MSG = (
    "expecting a free-form optional message in UTF-8 (starting with or without BOM) or a "
    "free-form optional message in any encoding (starting without BOM)"
)
ERR_ESCAPE = 'expecting chars `]`, `"`, and `\\` to be escaped within param value'
ERR_PARSE = "parsing error"

_SP, _DQ, _BS, _RB, _LB, _EQ = 0x20, 0x22, 0x5C, 0x5D, 0x5B, 0x3D
_DIGITS = frozenset(range(0x30, 0x3A))
_SDNAME = frozenset(range(0x21, 0x7F)) - {_DQ, _EQ, _RB}
_BOM = b"\xef\xbb\xbf"
_Check = Callable[[bytes, int, int], int]


@dataclass(frozen=True, slots=True)
class Rfc5424Error:
    """A record that starts like RFC 5424 but breaks its grammar; ``reason`` ends in
    ``[col N]``."""

    reason: str


@dataclass(frozen=True, slots=True)
class Header:
    """Everything before MSG; ``msg_start`` is -1 when the record ends after the SD."""

    priority: int
    version: int
    timestamp: float | None
    hostname: str
    appname: str
    procid: str
    msgid: str
    structured_data: dict[str, dict[str, str]]
    msg_start: int


class _ScanError(Exception):
    """Internal: unwinds the scanner to ``scan``, which turns it into an ``Rfc5424Error``."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(reason)
        self.reason = f"{reason} [col {column}]"


def _fail(reason: str, column: int) -> NoReturn:
    raise _ScanError(reason, column)


def scan(data: bytes) -> Header | Rfc5424Error:
    """Walk the grammar; the header, or the first violation go-syslog would report."""
    try:
        return _Scanner(data).header()
    except _ScanError as failure:
        return Rfc5424Error(failure.reason)


class _Scanner:
    __slots__ = ("b", "n", "p")

    def __init__(self, data: bytes) -> None:
        self.b = data
        self.n = len(data)
        self.p = 0

    def peek(self) -> int:
        return self.b[self.p] if self.p < self.n else -1

    def header(self) -> Header:
        priority = self.pri()
        version = self.version()
        timestamp = self.timestamp()
        host, app, procid, msgid = (self.field(limit, err) for limit, err in _FIELDS)
        sd = self.structured_data()
        start = -1
        if self.p < self.n:
            if self.peek() != _SP:
                _fail(ERR_PARSE, self.p)
            start = self.p + 1
            if self.b.startswith(_BOM, start):
                _check_utf8(self.b, start + 3)
        return Header(priority, version, timestamp, host, app, procid, msgid, sd, start)

    def pri(self) -> int:
        if self.peek() != 0x3C:
            _fail(ERR_PRI, 0)
        self.p = 1
        digits = ""
        while True:
            char = self.peek()
            if char in _DIGITS and _prival_prefix(digits + chr(char)):
                digits += chr(char)
                self.p += 1
            elif char == 0x3E and digits:
                self.p += 1
                return int(digits)
            else:
                _fail(ERR_PRIVAL, self.p)

    def version(self) -> int:
        start = self.p
        if self.peek() not in _DIGITS or self.peek() == 0x30:
            _fail(ERR_VERSION, self.p)
        self.p += 1
        while self.peek() in _DIGITS and self.p - start < 3:
            self.p += 1
        count = self.p - start
        if self.peek() != _SP:
            # Ragel quirk: after two or three digits the version machine owns the error.
            _fail(ERR_VERSION if count >= 2 else ERR_PARSE, self.p)
        self.p += 1
        return int(self.b[start : self.p - 1])

    def timestamp(self) -> float | None:
        if self.peek() == 0x2D:
            self.p += 1
            self.expect_sp(ERR_PARSE)
            return None
        start = self.p
        for check in _TIMESTAMP_SHAPE:
            self.p = check(self.b, self.p, self.n)
        text = self.b[start : self.p].decode()
        if self.p < self.n and self.peek() != _SP:
            _fail(ERR_PARSE, self.p)
        value = _timestamp_value(text)
        if value is None:
            _fail(f'parsing time "{text}": day out of range', self.p)
        self.expect_sp(ERR_PARSE)
        return value

    def expect_sp(self, error: str) -> None:
        if self.peek() != _SP:
            _fail(error, self.p)
        self.p += 1

    def field(self, limit: int, error: str) -> str:
        start = self.p
        while 0x21 <= self.peek() <= 0x7E:
            self.p += 1
            if self.p - start > limit:
                _fail(error, start + limit)
        if self.p == start:
            _fail(error, self.p)
        text = self.b[start : self.p].decode()
        self.expect_sp(error)
        return text

    def structured_data(self) -> dict[str, dict[str, str]]:
        sd: dict[str, dict[str, str]] = {}
        if self.peek() == 0x2D:
            self.p += 1
            return sd
        if self.peek() != _LB:
            _fail(ERR_SD, self.p)
        while self.peek() == _LB:
            self.p += 1
            params = self.element_id(sd)
            while self.peek() == _SP:
                self.p += 1
                self.param(params)
            self.p += 1  # the closing bracket (element_id/param guarantee it)
            if self.p < self.n and self.peek() not in (_LB, _SP):
                _fail(ERR_SD, self.p)
        return sd

    def name(self, error: str) -> str:
        start = self.p
        while self.peek() in _SDNAME:
            self.p += 1
            if self.p - start > 32:
                _fail(error, start + 32)
        if self.p == start:
            _fail(error, self.p)
        return self.b[start : self.p].decode()

    def element_id(self, sd: dict[str, dict[str, str]]) -> dict[str, str]:
        sd_id = self.name(ERR_SDID)
        if self.peek() not in (_SP, _RB):
            _fail(ERR_SDID, self.p)
        if sd_id in sd:
            _fail(ERR_SDID_DUPLICATE, self.p)
        sd[sd_id] = {}
        return sd[sd_id]

    def param(self, params: dict[str, str]) -> None:
        key = self.name(ERR_SDPARAM)
        for expected in (_EQ, _DQ):
            if self.peek() != expected:
                _fail(ERR_SDPARAM, self.p)
            self.p += 1
        value = bytearray()
        while (char := self.peek()) != _DQ:
            if char in (-1, _RB):
                _fail(ERR_ESCAPE, self.p)
            if char == _BS:
                following = self.b[self.p + 1] if self.p + 1 < self.n else -1
                if following not in (_DQ, _BS, _RB):
                    _fail(ERR_ESCAPE, self.p + 1)
                value.append(following)
                self.p += 2
                continue
            end = _utf8_char_end(self.b, self.p, ERR_ESCAPE)
            value += self.b[self.p : end]
            self.p = end
        self.p += 1
        if self.peek() not in (_SP, _RB):
            _fail(ERR_SDPARAM, self.p)
        params[key] = value.decode()


def _prival_prefix(digits: str) -> bool:
    """True while ``digits`` is (a prefix of) a PRIVAL: 0, or 1-191 without leading zero."""
    if digits == "0":
        return True
    return digits[0] != "0" and len(digits) <= 3 and int(digits) <= 191


def _timestamp_value(text: str) -> float | None:
    """Epoch seconds of a grammar-valid stamp; None when the day does not exist.

    Year 0000 passes the grammar but not the calendar (``datetime`` starts at year 1), and
    a stamp at the very edge of year 9999 may overflow once its offset is applied.
    """
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    try:
        if year < 1 or day > calendar.monthrange(year, month)[1]:
            return None
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError):
        return None


def _utf8_char_end(data: bytes, pos: int, error: str) -> int:
    """End of the UTF-8 character at ``pos`` (RFC 3629); fails where the sequence breaks."""
    lead = data[pos]
    if lead < 0x80:
        return pos + 1
    if 0xC2 <= lead <= 0xDF:
        ranges = [(0x80, 0xBF)]
    elif 0xE0 <= lead <= 0xEF:
        second = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F)}.get(lead, (0x80, 0xBF))
        ranges = [second, (0x80, 0xBF)]
    elif 0xF0 <= lead <= 0xF4:
        second = {0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}.get(lead, (0x80, 0xBF))
        ranges = [second, (0x80, 0xBF), (0x80, 0xBF)]
    else:
        _fail(error, pos)
    for offset, (low, high) in enumerate(ranges, start=1):
        if pos + offset >= len(data) or not low <= data[pos + offset] <= high:
            _fail(error, pos + offset)
    return pos + len(ranges) + 1


def _check_utf8(data: bytes, start: int) -> None:
    """A MSG that starts with a BOM must be UTF-8; fail at the first byte that breaks it."""
    try:
        data[start:].decode()
    except UnicodeDecodeError as exc:
        pos = start + exc.start
        _utf8_char_end(data, pos, ERR_MSG)
        _fail(ERR_MSG, pos)  # pragma: no cover - _utf8_char_end always fails here


def _digit(low: int = 0x30, high: int = 0x39) -> _Check:
    def check(data: bytes, pos: int, size: int) -> int:
        if pos >= size or not low <= data[pos] <= high:
            _fail(ERR_TIMESTAMP, pos)
        return pos + 1

    return check


def _literal(*chars: int) -> _Check:
    def check(data: bytes, pos: int, size: int) -> int:
        if pos >= size or data[pos] not in chars:
            _fail(ERR_TIMESTAMP, pos)
        return pos + 1

    return check


def _two_digits(first_max: int, limits: dict[int, tuple[int, int]]) -> _Check:
    """A two-digit number whose second digit's range depends on the first."""

    def check(data: bytes, pos: int, size: int) -> int:
        pos = _digit(0x30, first_max)(data, pos, size)
        low, high = limits.get(data[pos - 1], (0x30, 0x39))
        return _digit(low, high)(data, pos, size)

    return check


def _fraction_and_offset(data: bytes, pos: int, size: int) -> int:
    """``[.1-6 digits](Z|+hh:mm|-hh:mm)``."""
    if pos < size and data[pos] == 0x2E:
        pos = _digit()(data, pos + 1, size)
        count = 1
        while pos < size and data[pos] in _DIGITS and count < 6:
            pos, count = pos + 1, count + 1
    pos = _literal(0x5A, 0x2B, 0x2D)(data, pos, size)
    if data[pos - 1] == 0x5A:
        return pos
    for check in (_HOUR, _literal(0x3A), _SIXTY):
        pos = check(data, pos, size)
    return pos


_HOUR = _two_digits(0x32, {0x32: (0x30, 0x33)})
_SIXTY = _two_digits(0x35, {})
_TIMESTAMP_SHAPE = (
    _digit(), _digit(), _digit(), _digit(), _literal(0x2D),
    _two_digits(0x31, {0x30: (0x31, 0x39), 0x31: (0x30, 0x32)}), _literal(0x2D),
    _two_digits(0x33, {0x30: (0x31, 0x39), 0x33: (0x30, 0x31)}), _literal(0x54),
    _HOUR, _literal(0x3A), _SIXTY, _literal(0x3A), _SIXTY, _fraction_and_offset,
)  # fmt: skip
_FIELDS = ((255, ERR_HOSTNAME), (48, ERR_APPNAME), (128, ERR_PROCID), (32, ERR_MSGID))
