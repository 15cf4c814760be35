"""Compiled conditions: a :class:`Matcher` tests one event against a rule's ``Conditions``.

Compilation happens once per rule; testing an event is cheap checks first (domain, program,
facility, severity), the regular expressions last. ``Matcher.match`` returns the named groups
of ``message`` (a mapping, possibly empty) when every condition holds, else ``None``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from opsconductor.agents.fields import raw_value
from opsconductor.agents.prefilter import may_match, required_literals
from opsconductor.agents.rules import Conditions, compile_regex
from opsconductor.messages import Event
from opsconductor.severity import facility_code, severity_code

_NO_GROUPS: Mapping[str, str] = {}
_MEMO_LIMIT = 4096

FieldTest = Callable[[Event, Mapping[str, str]], bool]


@dataclass(frozen=True, slots=True)
class ProgramTest:
    """Program names and globs, case-insensitive; ``None`` admits any program."""

    names: frozenset[str] | None
    pattern: re.Pattern[str] | None

    def admits(self, program: str) -> bool:
        """True when ``program`` is one of the names or matches one of the globs."""
        if self.names is None:
            return True
        lowered = program.lower()
        if lowered in self.names:
            return True
        return self.pattern is not None and self.pattern.fullmatch(lowered) is not None


def program_test(specs: list[str] | None) -> ProgramTest:
    """Compile program names and globs (``hostapd*``); ``""`` stands for "no program"."""
    if specs is None:
        return ProgramTest(None, None)
    globs = [spec.lower() for spec in specs if any(c in spec for c in "*?[")]
    names = frozenset(spec.lower() for spec in specs if spec.lower() not in globs)
    pattern = re.compile("|".join(fnmatch.translate(g) for g in globs)) if globs else None
    return ProgramTest(names, pattern)


class Matcher:
    """One compiled condition set; ``domains`` stands in when the conditions name none."""

    __slots__ = (
        "_memo",
        "domains",
        "facilities",
        "field_tests",
        "literals",
        "message",
        "message_not",
        "most_severe_code",
        "programs",
        "severities",
    )

    def __init__(self, conditions: Conditions, default_domains: Collection[str]) -> None:
        named = conditions.domain
        self.domains = frozenset(named if named is not None else default_domains)
        self.programs = program_test(conditions.program)
        self.facilities = _code_set(conditions.facility, facility_code)
        self.severities = _code_set(conditions.severity, severity_code)
        least = conditions.severity_at_least
        self.most_severe_code = None if least is None else severity_code(least)
        self.message = None if conditions.message is None else compile_regex(conditions.message)
        self.literals = (
            None if conditions.message is None else required_literals(conditions.message)
        )
        self.message_not = (
            None if conditions.message_not is None else compile_regex(conditions.message_not)
        )
        self.field_tests = tuple(
            _field_test(name, op, operand)
            for name, ops in (conditions.fields or {}).items()
            for op, operand in ops.items()
        )
        self._memo: dict[tuple[str, str], bool] = {}

    def admits(self, domain: str, program: str) -> bool:
        """The cheap part: domain and program (memoised; streams repeat them)."""
        key = (domain, program)
        known = self._memo.get(key)
        if known is None:
            known = domain in self.domains and self.programs.admits(program)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = known
        return known

    def _codes_admit(self, event: Event) -> bool:
        """Facility, severity and ``severity_at_least``."""
        if self.facilities is not None and event.facility not in self.facilities:
            return False
        if self.severities is not None and event.severity not in self.severities:
            return False
        least = self.most_severe_code
        return least is None or (event.severity is not None and event.severity <= least)

    def match(self, event: Event) -> Mapping[str, str] | None:
        """The named groups of ``message`` when every condition holds, else ``None``."""
        if not (self.admits(event.domain, event.program) and self._codes_admit(event)):
            return None
        if self.message_not is not None and self.message_not.search(event.message):
            return None
        groups = _NO_GROUPS
        if self.message is not None:
            if self.literals is not None and not may_match(self.literals, event.message):
                return None
            found = self.message.search(event.message)
            if found is None:
                return None
            if self.message.groupindex:
                groups = {k: v or "" for k, v in found.groupdict().items()}
        for test in self.field_tests:
            if not test(event, groups):
                return None
        return groups


def _code_set(
    values: list[int | str] | None, convert: Callable[[Any], int]
) -> frozenset[int] | None:
    return None if values is None else frozenset(convert(value) for value in values)


def _operand(name: str, value: Any) -> Any:
    """Severity and facility names in a comparison stand for their codes."""
    if isinstance(value, str) and not value.isdigit():
        if name == "severity":
            return severity_code(value)
        if name == "facility":
            return facility_code(value)
    return value


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _field_test(name: str, op: str, operand: Any) -> FieldTest:
    """One ``fields`` comparison; a missing field satisfies only ``ne`` and ``not_in``."""
    if op == "matches":
        pattern = compile_regex(str(operand))
        return lambda e, g: (
            (v := raw_value(e, name, g)) is not None and bool(pattern.search(str(v)))
        )
    if op in ("eq", "ne", "in", "not_in"):
        listed = operand if op in ("in", "not_in") else [operand]
        texts = frozenset(str(_operand(name, item)) for item in listed)
        wanted = op in ("eq", "in")

        def member(event: Event, groups: Mapping[str, str]) -> bool:
            value = raw_value(event, name, groups)
            return (value is not None and str(value) in texts) is wanted

        return member
    compare, limit = _ORDER[op], float(_operand(name, operand))

    def ordered(event: Event, groups: Mapping[str, str]) -> bool:
        number = _number(raw_value(event, name, groups))
        return number is not None and compare(number, limit)

    return ordered
