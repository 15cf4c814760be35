"""Rule documents: the validated model of a rule (see docs/rules.md).

A rule is data: :func:`parse_rule` turns a mapping (from YAML, JSON or the database) into a
:class:`Rule` or raises :class:`~opsconductor.errors.RuleError` naming the rule and the field.
``rule.model_dump(mode="json", exclude_none=True)`` is the stored document and parses back to
an equal rule. Durations are stored as float seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from opsconductor.agents.fields import describe_known, template_fields, unknown_fields
from opsconductor.errors import InputError, RuleError
from opsconductor.severity import ALERT_LEVELS, facility_code, severity_code

AGENTS = ("wifi", "security", "health", "wan", "system")
"""The agents a rule can belong to."""
KINDS = ("match", "threshold", "absence", "state")
"""The kinds of rule; each but ``match`` has a section of the same name."""
MAX_WINDOW_SECONDS = 7 * 86400.0
"""The longest window, absence or hold a rule may ask for."""
FIELD_OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "matches")
"""Operators of a ``fields`` condition."""

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", re.IGNORECASE)
_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
_LIST_OPS = frozenset({"in", "not_in"})
_ORDER_OPS = frozenset({"lt", "le", "gt", "ge"})


def parse_duration(value: Any) -> float:
    """Seconds from a number or a text such as ``90``, ``30s``, ``5m``, ``2h``, ``1d``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a text like 30s, 5m, 2h, 1d")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration (seconds, or a number with s, m, h, d)")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def _window(value: Any) -> float:
    seconds = parse_duration(value)
    if not 0 < seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"must be positive and at most 7 days (got {seconds:g} s)")
    return seconds


def _non_negative(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError(f"must not be negative (got {seconds:g} s)")
    return seconds


Window = Annotated[float, BeforeValidator(_window)]
"""A duration in seconds, positive and at most 7 days."""
Cooldown = Annotated[float, BeforeValidator(_non_negative)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def compile_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled case-insensitively; ValueError with the position when it is bad."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad regular expression at position {exc.pos}: {exc.msg}") from exc


def _codes(values: list[int | str], convert: Any, what: str) -> list[int | str]:
    for value in values:
        try:
            convert(value)
        except InputError as exc:
            raise ValueError(str(exc)) from exc
        except (AttributeError, TypeError) as exc:
            raise ValueError(f"{value!r} is not a {what} name or number") from exc
    return values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Strict):
    """Conditions an event must all meet (``match``, ``clear``, ``state.down``, ``state.up``)."""

    program: list[str] | None = None
    domain: list[str] | None = None
    facility: list[int | str] | None = None
    severity: list[int | str] | None = None
    severity_at_least: int | str | None = None
    message: str | None = None
    message_not: str | None = None
    fields: dict[str, dict[str, Any]] | None = None

    @field_validator("program", "domain", "facility", "severity", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("facility")
    @classmethod
    def _facilities(cls, value: list[int | str] | None) -> list[int | str] | None:
        return None if value is None else _codes(value, facility_code, "facility")

    @field_validator("severity")
    @classmethod
    def _severities(cls, value: list[int | str] | None) -> list[int | str] | None:
        return None if value is None else _codes(value, severity_code, "severity")

    @field_validator("severity_at_least")
    @classmethod
    def _least(cls, value: int | str | None) -> int | str | None:
        return None if value is None else _codes([value], severity_code, "severity")[0]

    @field_validator("message", "message_not")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            compile_regex(value)
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _field_tests(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {name: _field_test(name, test) for name, test in value.items()}

    @_model_validator(mode="after")
    def _field_names(self) -> Conditions:
        unknown = unknown_fields(self.fields or {}, self.groups())
        if unknown:
            raise ValueError(
                f"fields: unknown field {unknown[0]!r}; {describe_known(self.groups())}"
            )
        return self

    def groups(self) -> list[str]:
        """Names of the named groups of ``message``."""
        return [] if self.message is None else list(compile_regex(self.message).groupindex)


def _orderable(name: str, operand: Any) -> bool:
    """Numbers compare; severity and facility also compare by name (``err``)."""
    if isinstance(operand, str):
        return name in ("severity", "facility")
    return isinstance(operand, int | float) and not isinstance(operand, bool)


def _field_test(name: str, test: Any) -> dict[str, Any]:
    """Validate one ``{op: value}`` mapping; a bare value means ``{eq: value}``."""
    if not isinstance(test, Mapping):
        test = {"eq": test}
    for op, operand in test.items():
        if op not in FIELD_OPS:
            raise ValueError(f"{name}: unknown operator {op!r}; use {', '.join(FIELD_OPS)}")
        if op in _LIST_OPS and not isinstance(operand, list):
            raise ValueError(f"{name}.{op}: needs a list")
        if op in _ORDER_OPS and not _orderable(name, operand):
            raise ValueError(f"{name}.{op}: needs a number")
        if op == "matches":
            try:
                compile_regex(str(operand))
            except ValueError as exc:
                raise ValueError(f"{name}.matches: {exc}") from exc
        elif name in _CODED:
            _check_codes(name, op, operand)
    return dict(test)


_CODED = {"severity": severity_code, "facility": facility_code}
"""Fields compared by code, whose operands may be names (``err``, ``daemon``)."""


def _check_codes(name: str, op: str, operand: Any) -> None:
    """Every operand of a severity or facility comparison must name a real code."""
    for item in operand if op in _LIST_OPS else [operand]:
        try:
            _CODED[name](item if isinstance(item, int) else str(item))
        except InputError as exc:
            raise ValueError(f"{name}.{op}: {exc}") from exc


class Threshold(_Strict):
    """``count`` matching events within ``window`` seconds per ``key`` (default: fingerprint)."""

    count: int = Field(ge=2, le=100_000)
    window: Window
    key: list[str] | None = None


class Absence(_Strict):
    """No matching event for ``after`` seconds from a key that has sent one."""

    after: Window


class Flap(_Strict):
    """More than ``count`` transitions within ``window`` seconds."""

    count: int = Field(ge=1, le=10_000)
    window: Window


class StateSpec(_Strict):
    """A ``down`` event opens, an ``up`` event closes; ``hold`` and/or ``flap`` judge it."""

    down: Conditions
    up: Conditions
    hold: Window | None = None
    flap: Flap | None = None

    @_model_validator(mode="after")
    def _judged(self) -> StateSpec:
        if self.hold is None and self.flap is None:
            raise ValueError("a state rule needs hold, flap or both")
        return self


class Rule(_Strict):
    """One rule: which events (``match``), how they add up (``kind``), what the finding says."""

    id: str
    agent: Literal["wifi", "security", "health", "wan", "system"]
    title: str = Field(min_length=1)
    description: str = ""
    severity: Literal["info", "warning", "minor", "major", "critical"]
    enabled: bool = True
    kind: Literal["match", "threshold", "absence", "state"]
    match: Conditions | None = None
    fingerprint: list[str] = Field(default_factory=lambda: ["device_id"])
    threshold: Threshold | None = None
    absence: Absence | None = None
    state: StateSpec | None = None
    clear: Conditions | None = None
    cooldown: Cooldown | None = None
    escalate_after: int | None = Field(default=None, ge=1)
    summary: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("use 1-200 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @_model_validator(mode="after")
    def _consistent(self) -> Rule:
        _check_sections(self)
        _check_fields(self)
        return self

    def roles(self) -> dict[str, Conditions]:
        """The condition sets of the rule by name (``match``, ``clear``, ``down``, ``up``)."""
        found = {"match": self.match, "clear": self.clear}
        if self.state is not None:
            found |= {"down": self.state.down, "up": self.state.up}
        return {name: conditions for name, conditions in found.items() if conditions is not None}

    def key_fields(self) -> list[str]:
        """The fields a threshold window is kept per."""
        if self.threshold is not None and self.threshold.key is not None:
            return self.threshold.key
        return self.fingerprint


def _check_sections(rule: Rule) -> None:
    sections = {"threshold": rule.threshold, "absence": rule.absence, "state": rule.state}
    foreign = [name for name, value in sections.items() if value is not None and name != rule.kind]
    if foreign:
        raise ValueError(f"{foreign[0]}: a rule of kind {rule.kind} cannot have this section")
    if rule.kind in sections and sections[rule.kind] is None:
        raise ValueError(f"{rule.kind}: a rule of kind {rule.kind} needs this section")
    if rule.kind != "state" and rule.match is None:
        raise ValueError(f"match: a rule of kind {rule.kind} needs match conditions")


def _check_fields(rule: Rule) -> None:
    roles = rule.roles()
    groups = [group for conditions in roles.values() for group in conditions.groups()]
    named = {
        "fingerprint": rule.fingerprint,
        "threshold.key": rule.key_fields() if rule.threshold else [],
        "title": template_fields(rule.title),
        "summary": template_fields(rule.summary),
    }
    for where, names in named.items():
        unknown = unknown_fields(names, groups)
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r}; {describe_known(groups)}")
    common = roles["match"].groups() if "match" in roles and rule.kind == "state" else []
    for role, conditions in roles.items():
        if role == "match" and rule.kind == "state":
            continue
        missing = unknown_fields(rule.fingerprint, [*conditions.groups(), *common])
        if missing:
            raise ValueError(
                f"{role}.message: must capture the fingerprint field {missing[0]!r} "
                "as a named group"
            )


_SECTION_KEYS: dict[str, type[BaseModel]] = {
    "threshold": Threshold,
    "absence": Absence,
    "state": StateSpec,
    "flap": Flap,
    "match": Conditions,
    "clear": Conditions,
    "down": Conditions,
    "up": Conditions,
}


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc) or "rule"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent = _SECTION_KEYS.get(loc[-2], Rule) if len(loc) > 1 else Rule
        message = f"unknown key; allowed: {', '.join(parent.model_fields)}"
    if not loc and ":" in message:
        return message
    return f"{where}: {message}"


def parse_rule(document: Mapping[str, Any]) -> Rule:
    """Validate a rule document; RuleError names the rule and the field at fault."""
    if not isinstance(document, Mapping):
        raise RuleError(f"a rule is a mapping, not {type(document).__name__}")
    rule_id = document.get("id") or "(no id)"
    try:
        return Rule.model_validate(dict(document))
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise RuleError(f"rule {rule_id!r}: {problems}") from exc


__all__ = [
    "AGENTS",
    "ALERT_LEVELS",
    "KINDS",
    "Absence",
    "Conditions",
    "Flap",
    "Rule",
    "StateSpec",
    "Threshold",
    "parse_rule",
]
