"""Domain classification from a data table: ordered rules, first match wins.

A rule names a ``domain`` and matches on ``program`` (a name, a glob such as ``ath*``, or
a regular expression written ``re:...``; a list means any of them) and/or ``message`` (a
regular expression searched in the lower-cased message, so written in lower case — escapes
such as ``\\S`` keep their meaning; a list means any of them) and/or ``contains`` (plain
substrings, much faster than a regex; any of them occurring is enough — with ``message``
too, either one satisfies the message condition).
A rule with neither matches everything. The built-in table is ``classification.yaml`` next
to this module; an extra file's rules are tried first. A record no rule matches is
``generic``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from opsconductor.errors import ConfigError

DOMAINS = frozenset({"wifi", "security", "health", "wan", "system", "generic"})
_CACHE_LIMIT = 4096
_SEEN_LIMIT = 65536
_MEMO_MAX_MESSAGE = 512  # longer messages are classified every time, never memoised
_ESCAPE = re.compile(r"\\.")
_UPPER_LITERAL = re.compile(r"[A-Z]")


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the classification table."""

    domain: str
    programs: tuple[re.Pattern[str], ...]
    message: re.Pattern[str] | None
    contains: tuple[str, ...] = ()

    @property
    def any_message(self) -> bool:
        """True when the rule has no condition on the message."""
        return self.message is None and not self.contains

    def matches_message(self, lowered: str) -> bool:
        """True when a ``contains`` substring occurs in, or ``message`` matches, the text."""
        for fragment in self.contains:
            if fragment in lowered:
                return True
        return self.message is not None and self.message.search(lowered) is not None

    def matches_program(self, program: str) -> bool:
        """True when the rule has no program condition or one of its patterns matches."""
        return not self.programs or any(p.fullmatch(program) for p in self.programs)


class Classifier:
    """Assigns a domain to (program, message); ``extra_file`` rules go before the built-in."""

    def __init__(self, extra_file: Path | None = None) -> None:
        rules: list[Rule] = []
        if extra_file is not None:
            try:
                text = extra_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read classification file {extra_file}: {exc}") from exc
            rules.extend(load_rules(text, str(extra_file)))
        builtin = resources.files("opsconductor.parse").joinpath("classification.yaml")
        rules.extend(load_rules(builtin.read_text(encoding="utf-8"), "classification.yaml"))
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_program: dict[str, tuple[Rule, ...]] = {}
        self._seen: dict[tuple[str, str], str] = {}

    def classify(self, program: str, message: str) -> str:
        """The domain of the first rule matching both program and message (memoised: log
        streams repeat the same text a lot)."""
        if len(message) > _MEMO_MAX_MESSAGE:  # bound the memo's memory, not just its count
            return self._classify(program, message)
        key = (program, message)
        domain = self._seen.get(key)
        if domain is None:
            domain = self._classify(program, message)
            if len(self._seen) >= _SEEN_LIMIT:
                self._seen.clear()
            self._seen[key] = domain
        return domain

    def _classify(self, program: str, message: str) -> str:
        candidates = self._by_program.get(program)
        if candidates is None:
            candidates = tuple(r for r in self.rules if r.matches_program(program))
            if len(self._by_program) >= _CACHE_LIMIT:
                self._by_program.clear()
            self._by_program[program] = candidates
        lowered = ""
        for rule in candidates:
            if rule.any_message:
                return rule.domain
            if not lowered:
                lowered = message.lower()
            if rule.matches_message(lowered):
                return rule.domain
        return "generic"


def load_rules(text: str, origin: str) -> list[Rule]:
    """Validate and compile a YAML table: ``{rules: [{domain, program?, message?}, ...]}``."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    rows = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f"{origin}: expected a mapping with a list under 'rules'")
    return [_rule(row, f"{origin} rule {index}") for index, row in enumerate(rows, 1)]


def _rule(row: Any, where: str) -> Rule:
    if not isinstance(row, dict) or row.get("domain") not in DOMAINS:
        raise ConfigError(f"{where}: needs 'domain', one of {sorted(DOMAINS)}")
    unknown = set(row) - {"domain", "program", "message", "contains", "note"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    programs = row.get("program", [])
    if isinstance(programs, str):
        programs = [programs]
    message = row.get("message")
    if isinstance(message, list) and all(isinstance(m, str) for m in message):
        message = "|".join(f"(?:{m})" for m in message)
    if not isinstance(programs, list) or not all(isinstance(p, str) for p in programs):
        raise ConfigError(f"{where}: 'program' must be a string or a list of strings")
    if message is not None and not isinstance(message, str):
        raise ConfigError(f"{where}: 'message' must be a string or a list of strings")
    contains = row.get("contains", [])
    if isinstance(contains, str):
        contains = [contains]
    if not isinstance(contains, list) or not all(isinstance(c, str) and c for c in contains):
        raise ConfigError(f"{where}: 'contains' must be a string or a list of strings")
    if message is not None and _UPPER_LITERAL.search(_ESCAPE.sub("", message)):
        raise ConfigError(f"{where}: write 'message' in lower case (it is matched lower-cased)")
    try:
        compiled = tuple(_program_pattern(p) for p in programs)
        message_re = re.compile(message) if message else None
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression: {exc}") from exc
    return Rule(row["domain"], compiled, message_re, tuple(c.lower() for c in contains))


def _program_pattern(spec: str) -> re.Pattern[str]:
    """``re:...`` → that regex; a glob → its regex; a name → that exact name."""
    if spec.startswith("re:"):
        return re.compile(spec[3:])
    if any(c in spec for c in "*?["):
        return re.compile(fnmatch.translate(spec))
    return re.compile(re.escape(spec))
