"""Addons in the store: install, list, read, enable/disable, delete, seed the built-ins.

A row keeps the whole validated manifest in ``manifest`` and copies its ``version`` out.
``builtin`` rows come from ``addons/builtin`` (:func:`seed_builtin`); they can be disabled but
not deleted, and a custom manifest replaces one only when forced (it is then a custom row,
deletable, and the built-in returns at the next seeding). Installing decides first, purely
(:func:`install_decision`), then applies. Every function runs in the caller's transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.addons.builtin_manifests import builtin_manifests
from opsconductor.addons.manifest import Manifest, manifest_document, parse_manifest
from opsconductor.errors import Conflict, InputError
from opsconductor.store.bulk import insert_for
from opsconductor.store.tables import addons

log = logging.getLogger(__name__)


class Install(StrEnum):
    """What installing a manifest does."""

    NEW = "installed"
    REPLACE = "updated"
    SAME = "unchanged"
    REFUSE_BUILTIN = "refused: built in"
    REFUSE_SAME_VERSION = "refused: same version, other manifest"


@dataclass(frozen=True, slots=True)
class AddonRow:
    """A stored addon: its manifest document and its bookkeeping."""

    id: str
    manifest: dict[str, Any]
    enabled: bool
    builtin: bool
    version: str
    installed_at: float
    updated_at: float

    @property
    def name(self) -> str:
        """The manifest's name."""
        return str(self.manifest.get("name", ""))

    @property
    def method(self) -> str:
        """The manifest's method."""
        return str(self.manifest.get("method", ""))


def install_decision(
    current: AddonRow | None, document: Mapping[str, Any], *, builtin: bool, force: bool
) -> Install:
    """What installing ``document`` (a manifest's document) over ``current`` does."""
    if current is None:
        return Install.NEW
    if current.builtin and not builtin and not force:
        return Install.REFUSE_BUILTIN
    if current.manifest == document and current.builtin == builtin:
        return Install.SAME
    if current.version == document["version"] and not force:
        return Install.REFUSE_SAME_VERSION
    return Install.REPLACE


def _row(row: sa.Row[Any]) -> AddonRow:
    m = row._mapping
    return AddonRow(
        id=m["id"],
        manifest=dict(m["manifest"]),
        enabled=bool(m["enabled"]),
        builtin=bool(m["builtin"]),
        version=m["version"],
        installed_at=float(m["installed_at"]),
        updated_at=float(m["updated_at"]),
    )


async def list_addons(session: AsyncSession, *, enabled: bool | None = None) -> list[AddonRow]:
    """Every addon (or only the enabled or disabled ones), ordered by id."""
    stmt = sa.select(addons).order_by(addons.c.id)
    if enabled is not None:
        stmt = stmt.where(addons.c.enabled == enabled)
    return [_row(row) for row in await session.execute(stmt)]


async def get_addon(session: AsyncSession, addon_id: str) -> AddonRow | None:
    """The addon with ``addon_id``, or ``None``."""
    row = (await session.execute(sa.select(addons).where(addons.c.id == addon_id))).first()
    return None if row is None else _row(row)


async def install(
    session: AsyncSession,
    manifest: Manifest,
    now: float,
    *,
    force: bool = False,
    builtin: bool = False,
) -> tuple[AddonRow, Install]:
    """Store ``manifest``: a new addon (enabled), or a new version of a stored one (its
    ``enabled`` kept). ``Conflict`` when it would replace a built-in by a custom manifest or
    change a manifest without changing its version, unless ``force``."""
    document = manifest_document(manifest)
    current = await get_addon(session, manifest.id)
    decision = install_decision(current, document, builtin=builtin, force=force)
    if decision is Install.REFUSE_BUILTIN:
        raise Conflict(
            f"addon {manifest.id!r} is built in; disable it, or install with force to replace it"
        )
    if decision is Install.REFUSE_SAME_VERSION:
        raise Conflict(
            f"addon {manifest.id!r} version {manifest.version} is installed with another "
            "manifest; raise the version (or install with force)"
        )
    if decision is Install.NEW:
        values = _values(document, builtin, now) | {"enabled": True, "installed_at": now}
        insert = insert_for(session)(addons).values(values).on_conflict_do_nothing()
        if not getattr(await session.execute(insert), "rowcount", 0):
            raise Conflict(f"addon {manifest.id!r} was installed meanwhile; try again")
    elif decision is Install.REPLACE:
        update = sa.update(addons).where(addons.c.id == manifest.id)
        await session.execute(update.values(_values(document, builtin, now)))
    stored = await get_addon(session, manifest.id)
    assert stored is not None
    return stored, decision


def _values(document: dict[str, Any], builtin: bool, now: float) -> dict[str, Any]:
    return {
        "id": document["id"],
        "manifest": document,
        "builtin": builtin,
        "version": document["version"],
        "updated_at": now,
    }


async def set_enabled(
    session: AsyncSession, addon_id: str, enabled: bool, now: float
) -> tuple[AddonRow | None, bool]:
    """Switch an addon on or off: ``(the addon or None if absent, whether it changed)``."""
    current = await get_addon(session, addon_id)
    if current is None or current.enabled == enabled:
        return current, False
    stmt = (
        sa.update(addons)
        .where(addons.c.id == addon_id)
        .values(enabled=enabled, updated_at=now)
        .returning(*addons.c)
    )
    row = (await session.execute(stmt)).first()
    return (None if row is None else _row(row)), True


async def delete_addon(session: AsyncSession, addon_id: str) -> bool:
    """Delete a custom addon; False when there is none. A built-in is a ``Conflict``: it
    would return at the next seeding, so it can only be disabled."""
    current = await get_addon(session, addon_id)
    if current is None:
        return False
    if current.builtin:
        raise Conflict(f"addon {addon_id!r} is built in and cannot be deleted; disable it")
    await session.execute(sa.delete(addons).where(addons.c.id == addon_id))
    return True


async def seed_builtin(
    session: AsyncSession, manifests: Mapping[str, Manifest], now: float
) -> list[str]:
    """Store the built-in manifests: absent ones (enabled), and new versions of stored
    built-ins (``enabled`` kept). A custom addon that replaced a built-in is left alone.
    Idempotent; returns the ids it changed."""
    changed: list[str] = []
    for addon_id, manifest in sorted(manifests.items()):
        current = await get_addon(session, addon_id)
        if current is not None and not current.builtin:
            continue
        document = manifest_document(manifest)
        decision = install_decision(current, document, builtin=True, force=True)
        if decision is Install.NEW:
            values = _values(document, True, now) | {"enabled": True, "installed_at": now}
            stmt = insert_for(session)(addons).values(values).on_conflict_do_nothing()
            if getattr(await session.execute(stmt), "rowcount", 0):
                changed.append(addon_id)
        elif decision is Install.REPLACE:
            update = sa.update(addons).where(addons.c.id == addon_id, addons.c.builtin)
            await session.execute(update.values(_values(document, True, now)))
            changed.append(addon_id)
    return changed


async def seed_shipped(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Seed the manifests shipped in ``addons/builtin`` in a transaction of its own (at start)."""
    async with sessions() as session:
        changed = await seed_builtin(session, builtin_manifests(), time.time())
        await session.commit()
    if changed:
        log.info("built-in addons seeded: %s", ", ".join(changed))
    return changed


async def enabled_manifests(session: AsyncSession) -> list[Manifest]:
    """Every enabled addon's manifest, ordered by id. A stored manifest that no longer
    validates is left out with a warning instead of stopping every other addon."""
    loaded: list[Manifest] = []
    for row in await list_addons(session, enabled=True):
        try:
            loaded.append(parse_manifest(row.manifest))
        except InputError as exc:
            log.warning("stored addon %s is not valid any more, skipped: %s", row.id, exc)
    return loaded


async def addons_version(session: AsyncSession) -> tuple[int, float]:
    """A value that changes with every change of the addons (count, last update): a running
    receiver compares it to notice a change it was not told about."""
    stmt = sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.max(addons.c.updated_at), 0.0)
    ).select_from(addons)
    count, updated = (await session.execute(stmt)).one()
    return int(count), float(updated)
