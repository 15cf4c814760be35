"""Silences and maintenance windows: does anything hold an alert back at a given moment?

A **silence** holds every alert whose labels satisfy all of its matchers while
``starts_at <= now < ends_at``. A matcher is ``{"label": …, "op": …, "value": …}`` with ops
``=``, ``!=``, ``=~`` and ``!~`` (regular expressions must match the whole value). Labels are
the alert's own labels plus ``device_id``, ``host``, ``rule_id``, ``agent``, ``domain`` and
``severity``; a label the alert lacks has the value ``""``. A silence needs at least one
matcher that an empty value does not satisfy — otherwise it would silence everything.

A **maintenance window** holds the alerts of the devices in its scope (``devices`` by id, or
devices whose ``site`` or one of whose ``groups`` it names) while its recurring schedule is
open (``schedule`` module: weekly or cron, evaluated in the window's time zone). A disabled
window holds nothing.

``Suppressor`` answers for one set of silences and windows: ``suppressed_by(labels, now)``
gives ``""`` or ``silence:<id>`` / ``maintenance:<id>`` (silences first, then windows, each
by id). Every constructor validates and raises ``InputError`` with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsconductor.alerts.schedule import Schedule, parse_schedule
from opsconductor.errors import InputError
from opsconductor.messages import Finding

OPS = ("=", "!=", "=~", "!~")
SCOPE_KEYS = ("devices", "groups", "sites")

DeviceScope = tuple[str, Sequence[str]]
"""A device's ``(site, groups)``."""
DeviceLookup = Callable[[str], DeviceScope | None]
"""``device_id`` → its ``(site, groups)``, or ``None`` for an unknown device."""


def alert_labels(finding: Finding) -> dict[str, str]:
    """The labels matchers see for the alert of ``finding``."""
    f = finding
    return labels_of(f.labels, f.device_id, f.host, f.rule_id, f.agent, f.domain, f.severity)


def labels_of(
    labels: Mapping[str, str],
    device_id: str,
    host: str,
    rule_id: str,
    agent: str,
    domain: str,
    severity: str,
) -> dict[str, str]:
    """An alert's labels plus the fields matchers may also name."""
    return {
        **labels,
        "device_id": device_id,
        "host": host,
        "rule_id": rule_id,
        "agent": agent,
        "domain": domain,
        "severity": severity,
    }


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label: ``label op value``."""

    label: str
    op: str
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise InputError("a matcher needs a label name")
        if self.op not in OPS:
            raise InputError(f"matcher op {self.op!r} is not one of {', '.join(OPS)}")
        if not isinstance(self.value, str):
            raise InputError(f"matcher value of {self.label!r} must be a string")
        if self.op in ("=~", "!~"):
            try:
                pattern = re.compile(self.value)
            except re.error as exc:
                raise InputError(
                    f"matcher of {self.label!r}: bad regular expression: {exc}"
                ) from exc
            object.__setattr__(self, "_pattern", pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is ``""``)."""
        actual = labels.get(self.label, "")
        if self._pattern is not None:
            return (self._pattern.fullmatch(actual) is not None) == (self.op == "=~")
        return (actual == self.value) == (self.op == "=")

    def to_document(self) -> dict[str, str]:
        """The matcher as stored: ``{"label", "op", "value"}``."""
        return {"label": self.label, "op": self.op, "value": self.value}


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts matching every matcher are held from ``starts_at`` until ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    author: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        if not self.matchers:
            raise InputError("a silence needs at least one matcher")
        if all(m.matches({}) for m in self.matchers):
            raise InputError(
                "a silence needs a matcher that an empty value does not satisfy "
                "(it would silence every alert)"
            )
        if not self.ends_at > self.starts_at:
            raise InputError("a silence must end after it starts")

    def active(self, now: float) -> bool:
        """Whether the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher holds for ``labels``."""
        return all(m.matches(labels) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """The alerts of the devices in ``scope`` are held while ``schedule`` is open."""

    id: str
    name: str
    scope: Mapping[str, frozenset[str]]
    schedule: Schedule
    enabled: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.scope) - set(SCOPE_KEYS)
        if unknown:
            raise InputError(f"unknown scope key(s) {sorted(unknown)}; use {', '.join(SCOPE_KEYS)}")
        if not any(self.scope.get(key) for key in SCOPE_KEYS):
            raise InputError("a maintenance window must name at least one device, group or site")

    def covers(self, device_id: str, lookup: DeviceLookup) -> bool:
        """Whether the device is in scope (by id, or by its site or one of its groups)."""
        if device_id in self.scope.get("devices", ()):
            return True
        sites, groups = self.scope.get("sites", ()), self.scope.get("groups", ())
        if not sites and not groups:
            return False
        known = lookup(device_id)
        if known is None:
            return False
        site, device_groups = known
        return site in sites or any(group in groups for group in device_groups)

    def open_at(self, now: float) -> bool:
        """Whether the window is enabled and open at ``now``."""
        return self.enabled and self.schedule.active_start(now) is not None


def parse_matchers(documents: object) -> tuple[Matcher, ...]:
    """Matchers from ``[{"label", "op", "value"}, …]`` (``op`` defaults to ``=``)."""
    if not isinstance(documents, list):
        raise InputError("matchers must be a list of {label, op, value}")
    found = []
    for doc in documents:
        if not isinstance(doc, Mapping):
            raise InputError("each matcher must be an object {label, op, value}")
        found.append(Matcher(doc.get("label", ""), doc.get("op", "="), doc.get("value", "")))
    return tuple(found)


def parse_silence(document: Mapping[str, Any]) -> Silence:
    """A ``Silence`` from a stored or submitted document (``InputError`` when invalid)."""
    try:
        starts_at, ends_at = float(document["starts_at"]), float(document["ends_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError("a silence needs numeric starts_at and ends_at (epoch seconds)") from exc
    return Silence(
        id=str(document.get("id", "")),
        matchers=parse_matchers(document.get("matchers")),
        starts_at=starts_at,
        ends_at=ends_at,
        author=str(document.get("author", "")),
        comment=str(document.get("comment", "")),
    )


def parse_scope(document: object) -> dict[str, frozenset[str]]:
    """A scope ``{"devices": [...], "groups": [...], "sites": [...]}`` (missing keys: empty)."""
    if not isinstance(document, Mapping):
        raise InputError("scope must be an object with devices, groups and/or sites")
    scope = {}
    for key, values in document.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(f"scope {key!r} must be a list of strings")
        scope[str(key)] = frozenset(values)
    return scope


def parse_window(document: Mapping[str, Any]) -> MaintenanceWindow:
    """A ``MaintenanceWindow`` from a stored or submitted document (``InputError`` if invalid)."""
    return MaintenanceWindow(
        id=str(document.get("id", "")),
        name=str(document.get("name", "")),
        scope=parse_scope(document.get("scope")),
        schedule=parse_schedule(document.get("schedule")),  # type: ignore[arg-type]
        enabled=bool(document.get("enabled", True)),
    )


def _no_devices(_device_id: str) -> DeviceScope | None:
    return None


class Suppressor:
    """Answers "what holds this alert back at ``now``?" for a fixed set of silences and
    maintenance windows; ``devices`` resolves a device's site and groups for window scopes."""

    def __init__(
        self,
        silences: Iterable[Silence] = (),
        windows: Iterable[MaintenanceWindow] = (),
        devices: DeviceLookup = _no_devices,
    ) -> None:
        self.silences = sorted(silences, key=lambda s: s.id)
        self.windows = sorted((w for w in windows if w.enabled), key=lambda w: w.id)
        self._devices = devices
        self._open: tuple[float, list[MaintenanceWindow]] | None = None

    @classmethod
    def empty(cls) -> Suppressor:
        """A suppressor that holds nothing back."""
        return cls()

    def __bool__(self) -> bool:
        return bool(self.silences or self.windows)

    def _open_windows(self, now: float) -> list[MaintenanceWindow]:
        if self._open is None or self._open[0] != now:
            self._open = (now, [w for w in self.windows if w.open_at(now)])
        return self._open[1]

    def suppressed_by(self, labels: Mapping[str, str], now: float) -> str:
        """``""`` or what holds the alert with ``labels``: ``silence:<id>``/``maintenance:<id>``."""
        for silence in self.silences:
            if silence.active(now) and silence.matches(labels):
                return f"silence:{silence.id}"
        device = labels.get("device_id", "")
        for window in self._open_windows(now):
            if window.covers(device, self._devices):
                return f"maintenance:{window.id}"
        return ""

    def next_change_after(self, now: float) -> float | None:
        """The next moment after ``now`` when a silence or window starts or ends (a window's
        next opening is looked for two weeks ahead), else ``None``."""
        moments = [t for s in self.silences for t in (s.starts_at, s.ends_at) if t > now]
        for window in self.windows:
            change = window.schedule.next_change_after(now)
            if change is not None:
                moments.append(change)
        return min(moments, default=None)
