"""Settings an operator changes at run time: the registry of keys, their checks, and the store.

Each key has a type, bounds and a default; the default comes from the process's ``Settings``
where one exists there (so ``OPSC_ALERT_COOLDOWN_SECONDS`` still sets the starting point) and
a stored value overrides it. Only the keys here exist: nothing secret is ever among them.
Changes are announced on ``control.reload.settings`` by the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.config import Settings
from opsconductor.errors import InputError, NotFound
from opsconductor.store.bulk import insert_for
from opsconductor.store.tables import system_settings


class UnknownSetting(NotFound):
    """No run-time setting has this key (HTTP 404)."""


class BadSettingValue(InputError):
    """A value the setting does not accept (HTTP 422)."""

    status_code = 422


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One run-time setting: its key, what it means, its type, bounds and default."""

    key: str
    description: str
    kind: type[int] | type[float] | type[bool]
    default: Callable[[Settings], Any]
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> Any:
        """``value`` as this setting's type, or ``BadSettingValue`` saying why not."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise BadSettingValue(f"{self.key}: expected true or false, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadSettingValue(f"{self.key}: expected a number, got {value!r}")
        if self.kind is int and not float(value).is_integer():
            raise BadSettingValue(f"{self.key}: expected a whole number, got {value!r}")
        if not math.isfinite(value):
            raise BadSettingValue(f"{self.key}: expected a finite number")
        if self.minimum is not None and value < self.minimum:
            raise BadSettingValue(f"{self.key}: must be at least {self.minimum:g}, not {value}")
        if self.maximum is not None and value > self.maximum:
            raise BadSettingValue(f"{self.key}: must be at most {self.maximum:g}, not {value}")
        return self.kind(value)


_DAY = 86400.0
REGISTRY: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "alert_cooldown_seconds",
            "Default notification cooldown per alert fingerprint (a rule may set its own).",
            float,
            lambda s: s.alert_cooldown_seconds,
            0,
            7 * _DAY,
        ),
        SettingSpec(
            "alert_escalate_after",
            "Default repeats before an alert's severity rises a level (0: never).",
            int,
            lambda s: s.alert_escalate_after,
            0,
            10_000,
        ),
        SettingSpec(
            "event_retention_days",
            "Events older than this many days are deleted.",
            float,
            lambda s: s.retention_days,
            0.01,
            3650,
        ),
        SettingSpec(
            "findings_retention_days",
            "Findings older than this many days are deleted (alerts are kept).",
            float,
            lambda s: s.findings_retention_days,
            0.01,
            3650,
        ),
        SettingSpec(
            "ui_refresh_seconds",
            "How often the web UI refreshes its lists.",
            int,
            lambda s: 10,
            1,
            3600,
        ),
    )
}
"""Every run-time setting, by key."""


def spec_of(key: str) -> SettingSpec:
    """The setting ``key``, or ``UnknownSetting``."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownSetting(f"no setting {key!r}; known: {', '.join(sorted(REGISTRY))}") from None


@dataclass(frozen=True, slots=True)
class SettingValue:
    """A setting as it stands: its value (stored, else the default) and who set it."""

    key: str
    value: Any
    default: Any
    overridden: bool
    updated_at: float | None
    updated_by: str | None


async def _stored(session: AsyncSession, key: str | None = None) -> dict[str, sa.Row[Any]]:
    stmt = sa.select(system_settings)
    if key is not None:
        stmt = stmt.where(system_settings.c.key == key)
    return {row.key: row for row in await session.execute(stmt)}


def _value(spec: SettingSpec, settings: Settings, row: sa.Row[Any] | None) -> SettingValue:
    default = spec.default(settings)
    if row is None:
        return SettingValue(spec.key, default, default, False, None, None)
    try:
        value = spec.check(row.value)
    except BadSettingValue:  # stored by an older release with other bounds
        return SettingValue(spec.key, default, default, False, row.updated_at, row.updated_by)
    return SettingValue(spec.key, value, default, True, row.updated_at, row.updated_by)


async def read_settings(session: AsyncSession, settings: Settings) -> list[SettingValue]:
    """Every run-time setting as it stands, by key."""
    stored = await _stored(session)
    return [_value(REGISTRY[key], settings, stored.get(key)) for key in sorted(REGISTRY)]


async def read_setting(session: AsyncSession, settings: Settings, key: str) -> SettingValue:
    """The setting ``key`` as it stands (``UnknownSetting`` if there is none)."""
    spec = spec_of(key)
    return _value(spec, settings, (await _stored(session, key)).get(key))


async def write_setting(session: AsyncSession, key: str, value: Any, who: str, now: float) -> None:
    """Store ``value`` for ``key`` after checking it (``BadSettingValue`` if it does not fit)."""
    checked = spec_of(key).check(value)
    stmt = insert_for(session)(system_settings).values(
        key=key, value=checked, updated_at=now, updated_by=who
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[system_settings.c.key],
        set_={"value": checked, "updated_at": now, "updated_by": who},
    )
    await session.execute(stmt)


async def reset_setting(session: AsyncSession, key: str) -> None:
    """Forget the stored value of ``key``: the default applies again."""
    spec_of(key)
    await session.execute(sa.delete(system_settings).where(system_settings.c.key == key))


async def overrides(session: AsyncSession) -> dict[str, Any]:
    """The stored values that hold (checked against today's bounds), by key."""
    found: dict[str, Any] = {}
    for key, row in (await _stored(session)).items():
        spec = REGISTRY.get(key)
        if spec is None:
            continue
        try:
            found[key] = spec.check(row.value)
        except BadSettingValue:
            continue
    return found
