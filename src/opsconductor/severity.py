"""Syslog severity and facility codes and names (RFC 5424 section 6.2.1)."""

from __future__ import annotations

from opsconductor.errors import InputError

SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
"""Severity code → keyword."""
FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
"""Facility code → keyword (rsyslog's names for 12-15)."""
ALERT_LEVELS = ("info", "warning", "minor", "major", "critical")
"""Alert severity levels of findings and alerts, least severe first."""
ALERT_LEVELS_WORST_FIRST = ALERT_LEVELS[::-1]
"""The same, most severe first (as lists and counts show them)."""

SEVERITY_CODES: dict[str, int] = {
    **{name: code for code, name in enumerate(SEVERITIES)},
    "panic": 0, "emergency": 0, "critical": 2, "error": 3, "warn": 4,
    "information": 6, "informational": 6,
}  # fmt: skip
"""Every severity keyword accepted (syslog.conf, logread, LuCI) → code."""
FACILITY_CODES: dict[str, int] = {
    **{name: code for code, name in enumerate(FACILITIES)},
    "security": 4, "auth-priv": 10,
}  # fmt: skip
"""Every facility keyword accepted → code."""


def severity_code(value: int | str) -> int:
    """0–7 from a number or a name (``err``, ``error``, ``warning``, ``warn``…)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        code = int(value)
        if 0 <= code <= 7:
            return code
        raise InputError(f"severity {value!r} is not between 0 and 7")
    named = SEVERITY_CODES.get(value.strip().lower())
    if named is not None:
        return named
    raise InputError(f"unknown severity {value!r}; use 0-7 or one of {', '.join(SEVERITIES)}")


def facility_code(value: int | str) -> int:
    """0–23 from a number or a name (``daemon``, ``local7``…)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        code = int(value)
        if 0 <= code <= 23:
            return code
        raise InputError(f"facility {value!r} is not between 0 and 23")
    named = FACILITY_CODES.get(value.strip().lower())
    if named is not None:
        return named
    raise InputError(f"unknown facility {value!r}")


def severity_name(code: int | None) -> str | None:
    """The keyword of a severity code."""
    return None if code is None else SEVERITIES[code]


def facility_name(code: int | None) -> str | None:
    """The keyword of a facility code."""
    return None if code is None or not 0 <= code < len(FACILITIES) else FACILITIES[code]


def raise_level(level: str) -> str:
    """The alert level one step above ``level`` (``critical`` stays ``critical``)."""
    index = ALERT_LEVELS.index(level)
    return ALERT_LEVELS[min(index + 1, len(ALERT_LEVELS) - 1)]
