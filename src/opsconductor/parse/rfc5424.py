"""Strict RFC 5424 parsing with go-syslog's error messages and columns.

A fast path (one regular expression for the header, one per structured-data element)
accepts the well-formed records; anything it does not accept goes to the byte scanner in
``rfc5424_scan``, which walks the grammar like go-syslog's Ragel machine (compliant-message
mode: a MSG starting with a BOM must be UTF-8, any other MSG may hold any bytes) and
reports the first violation as ``"<go-syslog message> [col N]"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from opsconductor.parse.rfc5424_scan import Header, Rfc5424Error, scan

__all__ = ["Rfc5424Error", "Rfc5424Message", "looks_like_rfc5424", "parse_rfc5424"]

BOM = b"\xef\xbb\xbf"

_START = re.compile(rb"<\d{0,12}>\d{1,3} ")
_SDNAME = rb"[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}"
_VALUE = rb'(?:[^"\\\]]|\\["\\\]])*'
_HEADER = re.compile(
    rb"<(0|[1-9]\d?|1[0-8]\d|19[01])>([1-9]\d{0,2}) "
    rb"(-|\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    rb"(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)) "
    rb"([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) "
)
_ELEMENT = re.compile(rb"\[(" + _SDNAME + rb")((?: " + _SDNAME + rb'="' + _VALUE + rb'")*)\]')
_PARAM = re.compile(rb" (" + _SDNAME + rb')="(' + _VALUE + rb')"')
_UNESCAPE = re.compile(rb'\\(["\\\]])')


@dataclass(frozen=True, slots=True)
class Rfc5424Message:
    """A valid RFC 5424 record. Nil fields are empty strings; ``timestamp`` is epoch seconds."""

    priority: int
    version: int
    timestamp: float | None
    hostname: str
    appname: str
    procid: str
    msgid: str
    structured_data: dict[str, dict[str, str]]
    message: str
    invalid_utf8: bool


def looks_like_rfc5424(data: bytes) -> bool:
    """True when ``data`` starts like RFC 5424 (``<PRI>VERSION SP``) and must parse strictly."""
    return _START.match(data) is not None


def parse_rfc5424(data: bytes) -> Rfc5424Message | Rfc5424Error:
    """Parse one record strictly; the error names go-syslog's message and column."""
    fast = _fast(data)
    if fast is not None:
        return fast
    result = scan(data)
    if isinstance(result, Rfc5424Error):
        return result
    return _message(data, result)


def _fast(data: bytes) -> Rfc5424Message | None:
    """The common well-formed case, or None to let the scanner decide."""
    match = _HEADER.match(data)
    if match is None:
        return None
    found = _fast_sd(data, match.end())
    stamp = match.group(3)
    timestamp = None if stamp == b"-" else _timestamp(stamp)
    if found is None or (stamp != b"-" and timestamp is None):
        return None
    sd, pos = found
    header = Header(
        int(match.group(1)), int(match.group(2)), timestamp, match.group(4).decode(),
        match.group(5).decode(), match.group(6).decode(), match.group(7).decode(), sd,
        pos + 1 if pos < len(data) else -1,
    )  # fmt: skip
    if header.msg_start >= 0 and data.startswith(BOM, header.msg_start):
        try:
            data[header.msg_start + 3 :].decode()
        except UnicodeDecodeError:
            return None
    return _message(data, header)


def _fast_sd(data: bytes, pos: int) -> tuple[dict[str, dict[str, str]], int] | None:
    """Structured data at ``pos`` and where it ends; None when not plainly valid."""
    sd: dict[str, dict[str, str]] = {}
    if data[pos : pos + 1] == b"-":
        pos += 1
    else:
        while data[pos : pos + 1] == b"[":
            element = _ELEMENT.match(data, pos)
            if element is None or not _add_element(sd, element):
                return None
            pos = element.end()
        if not sd:
            return None
    if pos < len(data) and data[pos] != 0x20:
        return None
    return sd, pos


def _add_element(sd: dict[str, dict[str, str]], element: re.Match[bytes]) -> bool:
    """Store one SD element; False when it is a duplicate or holds invalid UTF-8."""
    try:
        sd_id = element.group(1).decode()
        if sd_id in sd:
            return False
        params: dict[str, str] = {}
        for param in _PARAM.finditer(element.group(2)):
            raw = param.group(2)
            value = (_UNESCAPE.sub(rb"\1", raw) if b"\\" in raw else raw).decode()
            params[param.group(1).decode()] = value
    except UnicodeDecodeError:
        return False
    sd[sd_id] = params
    return True


def _timestamp(stamp: bytes) -> float | None:
    """Epoch seconds of a grammar-valid RFC 3339 stamp; None for a day out of range."""
    try:
        return datetime.fromisoformat(stamp.decode()).timestamp()
    except ValueError:
        return None


def _message(data: bytes, header: Header) -> Rfc5424Message:
    """Assemble the message; MSG without a BOM may hold any bytes (decoded with replace)."""
    text = ""
    invalid = False
    if header.msg_start >= 0:
        raw = data[header.msg_start :]
        if raw.startswith(BOM):
            text = raw[3:].decode()
        else:
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "replace")
                invalid = True
    return Rfc5424Message(
        header.priority, header.version, header.timestamp, _nil(header.hostname),
        _nil(header.appname), _nil(header.procid), _nil(header.msgid),
        header.structured_data, text, invalid,
    )  # fmt: skip


def _nil(value: str) -> str:
    return "" if value == "-" else value
