"""What a format parser finds in one record, and the helpers the formats share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsconductor.severity import FACILITY_CODES, SEVERITY_CODES

FACILITIES = FACILITY_CODES
"""Facility keywords (as syslog.conf and logread write them) → RFC 5424 facility code."""

SEVERITIES = SEVERITY_CODES
"""Severity keywords → RFC 5424 severity code."""


@dataclass(slots=True)
class Parsed:
    """The fields one format parser found; the ``Parser`` turns it into an ``Event``."""

    format: str
    status: str = "ok"
    timestamp: float | None = None
    host: str = ""
    facility: int | None = None
    severity: int | None = None
    program: str = ""
    procid: str = ""
    msgid: str = ""
    message: str = ""
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


FACILITY_SEVERITY: dict[str, tuple[int, int]] = {
    f"{facility}.{severity}": (fac, sev)
    for facility, fac in FACILITIES.items()
    for severity, sev in SEVERITIES.items()
}
"""Every known ``facility.severity`` keyword pair → (facility, severity): one dict look-up
per record instead of splitting the token (the keywords hold no dot, so this is exact)."""


def facility_severity(token: str) -> tuple[int, int] | None:
    """``daemon.notice`` → (3, 5); None unless both halves are known keywords."""
    return FACILITY_SEVERITY.get(token)


# ``prog:``, ``prog[pid]:`` or ``prog[pid]`` then a space or the end.
TAG = re.compile(r"([^\s\[\]:]{1,128})(?:\[([^\]\s]{0,32})\](?::)?|:)(?= |$)")
OPTIONAL_TAG = (
    r"(?:: )?(?:(?P<program>[^\s\[\]:]{1,128})(?:\[(?P<procid>[^\]\s]{0,32})\](?::)?|:)(?= |$))?"
)
"""``take_tag`` as the tail of a format's own regex (one match per record instead of two)."""
_KERNEL_UPTIME = re.compile(r"\[\s*(\d[\dx]*\.[\dx]+)\] *")
_GLUED = re.compile(r" ([a-z][a-z0-9_-]{1,31})\[(\d{1,7})\]: ")


def take_tag(parsed: Parsed, text: str) -> None:
    """Fill program/procid/message from ``prog[pid]: message`` (message only when no tag).

    logread writes ``user.info : luci: text`` for an empty identity; the program is then the
    word after the lone colon.
    """
    if text.startswith(": "):
        text = text[2:]
    match = TAG.match(text)
    if match is None:
        parsed.message = text
        parsed.status = "partial"
        return
    parsed.program = match.group(1)
    parsed.procid = match.group(2) or ""
    parsed.message = text[match.end() + 1 :]


def matched_tag(parsed: Parsed, match: re.Match[str], text: str) -> None:
    """What ``take_tag`` does, from a ``match`` of a regex ending in ``OPTIONAL_TAG``."""
    program = match.group("program")
    if program is None:
        parsed.message = text[match.end() :]
        parsed.status = "partial"
        return
    parsed.program = program
    parsed.procid = match.group("procid") or ""
    parsed.message = text[match.end() + 1 :]


def refine(parsed: Parsed) -> None:
    """Format-independent clean-ups: kernel uptime stamps and two records glued together."""
    if parsed.program == "kernel":
        match = _KERNEL_UPTIME.match(parsed.message)
        if match is not None:
            parsed.extra["uptime"] = match.group(1)
            parsed.message = parsed.message[match.end() :]
        return
    if parsed.program and "]: " in parsed.message:
        _split_glued(parsed)


def _split_glued(parsed: Parsed) -> None:
    """Cut a second ``prog[pid]: text`` record off the message, keeping it in ``extra``.

    Conservative: the second tag must be a lower-case daemon-like name with a numeric pid,
    preceded by a space, after a non-empty first message.
    """
    match = _GLUED.search(parsed.message)
    if match is None or match.start() == 0:
        return
    parsed.extra["glued"] = "1"
    parsed.extra["glued_program"] = match.group(1)
    parsed.extra["glued_procid"] = match.group(2)
    parsed.extra["glued_message"] = parsed.message[match.end() :]
    parsed.message = parsed.message[: match.start()]
