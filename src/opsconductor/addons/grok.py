"""Grok-style patterns (``%{IP:client} %{WORD:method}``) compiled to Python regular expressions.

The base patterns are a small subset of Logstash's; a manifest adds its own under
``definitions``. ``%{NAME:field}`` captures ``field``; ``%{NAME}`` matches without capturing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

BASE_PATTERNS: dict[str, str] = {
    "INT": r"[+-]?\d+",
    "NUMBER": r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)",
    "WORD": r"\w+",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QS": r'"(?:[^"\\]|\\.)*"',
    "IPV4": r"(?:\d{1,3}\.){3}\d{1,3}",
    "IPV6": r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+",
    "IP": r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)",
    "MAC": r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}",
    "HOSTNAME": r"[0-9A-Za-z](?:[0-9A-Za-z.-]{0,253}[0-9A-Za-z])?",
    "IPORHOST": r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Za-z][0-9A-Za-z.:-]*)",
    "INTERFACE": r"[A-Za-z][\w.:-]*",
    "UUID": r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}",
    "URIPATH": r"/[^\s?#]*",
}
"""Patterns every grok pattern may use."""

_REFERENCE = re.compile(r"%\{([^}]*)\}")
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_MAX_DEPTH = 8


def grok_regex(pattern: str, definitions: Mapping[str, str] | None = None) -> str:
    """The regular expression ``pattern`` stands for; ``ValueError`` naming what is wrong."""
    known = {**BASE_PATTERNS, **(definitions or {})}
    return _expand(pattern, known, 0, capture=True)


def grok_fields(pattern: str, definitions: Mapping[str, str] | None = None) -> list[str]:
    """The fields ``pattern`` captures, in order; ``ValueError`` if it does not compile."""
    regex = grok_regex(pattern, definitions)
    try:
        return list(re.compile(regex).groupindex)
    except re.error as exc:
        raise ValueError(f"the pattern does not compile: {exc.msg}") from exc


def _expand(pattern: str, known: Mapping[str, str], depth: int, *, capture: bool) -> str:
    if depth > _MAX_DEPTH:
        raise ValueError("patterns nest too deeply (a definition refers to itself?)")

    def one(match: re.Match[str]) -> str:
        parts = match.group(1).split(":")
        name = parts[0]
        if not _NAME.fullmatch(name) or len(parts) > 3:
            raise ValueError(
                f"bad reference %{{{match.group(1)}}}: use %{{NAME}} or %{{NAME:field}}"
            )
        if name not in known:
            raise ValueError(f"unknown pattern {name!r}; known: {', '.join(sorted(known))}")
        inner = _expand(known[name], known, depth + 1, capture=False)
        if len(parts) == 1 or not capture:
            return f"(?:{inner})"
        field = parts[1]
        if not _FIELD.fullmatch(field):
            raise ValueError(f"bad field name {field!r} in %{{{match.group(1)}}}")
        return f"(?P<{field}>{inner})"

    return _REFERENCE.sub(one, pattern)
