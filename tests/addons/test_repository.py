"""Addons in the store, on SQLite and PostgreSQL: install and its refusals, seeding the
built-ins (idempotent, upgrades, leaves a forced custom one alone), enable, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import create_test_database, drop_test_database

from opsconductor.addons import repository as repo
from opsconductor.addons.builtin_manifests import builtin_manifests
from opsconductor.addons.manifest import Manifest, manifest_document, parse_manifest
from opsconductor.errors import Conflict
from opsconductor.store import create_engine, session_factory, upgrade


def hook(version: str = "1.0.0", addon_id: str = "site.hook", **extra: Any) -> Manifest:
    """A valid webhook manifest."""
    return parse_manifest(
        {
            "id": addon_id,
            "name": "Site hook",
            "version": version,
            "method": "webhook",
            "parser": {"kind": "json", "fields": {"host": "host"}},
            "fingerprint": ["host"],
            **extra,
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncSession]:
    """A session on a migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'addons.db'}"
    else:
        url = await create_test_database()
    try:
        await upgrade(url)
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            yield session
        await engine.dispose()
    finally:
        if request.param != "sqlite":
            await drop_test_database(url)


async def test_install_new_same_and_new_version(session: AsyncSession) -> None:
    row, outcome = await repo.install(session, hook(), 10.0)
    assert outcome is repo.Install.NEW
    assert (row.id, row.enabled, row.builtin, row.version) == ("site.hook", True, False, "1.0.0")
    assert (row.installed_at, row.updated_at, row.method) == (10.0, 10.0, "webhook")
    assert row.manifest == manifest_document(hook())
    again, outcome = await repo.install(session, hook(), 11.0)
    assert (outcome, again) == (repo.Install.SAME, row)

    await repo.set_enabled(session, "site.hook", False, 12.0)
    newer, outcome = await repo.install(session, hook("1.1.0", title="{host}"), 13.0)
    assert outcome is repo.Install.REPLACE
    assert (newer.version, newer.enabled, newer.installed_at, newer.updated_at) == (
        "1.1.0", False, 10.0, 13.0,
    )  # fmt: skip
    assert newer.manifest["title"] == "{host}"


async def test_same_version_other_manifest_needs_force(session: AsyncSession) -> None:
    await repo.install(session, hook(), 1.0)
    changed = hook(title="{host}")
    with pytest.raises(Conflict, match="raise the version"):
        await repo.install(session, changed, 2.0)
    row, outcome = await repo.install(session, changed, 2.0, force=True)
    assert outcome is repo.Install.REPLACE and row.manifest["title"] == "{host}"


async def test_seed_builtin_is_idempotent_and_upgrades(session: AsyncSession) -> None:
    shipped = builtin_manifests()
    assert sorted(await repo.seed_builtin(session, shipped, 1.0)) == sorted(shipped)
    assert await repo.seed_builtin(session, shipped, 2.0) == []
    rows = await repo.list_addons(session)
    assert [r.id for r in rows] == sorted(shipped)
    assert all(r.builtin and r.enabled and r.updated_at == 1.0 for r in rows)

    await repo.set_enabled(session, "grafana", False, 3.0)
    document = manifest_document(shipped["grafana"]) | {"version": "1.1.0"}
    upgraded = {"grafana": parse_manifest(document)}
    assert await repo.seed_builtin(session, upgraded, 4.0) == ["grafana"]
    grafana = await repo.get_addon(session, "grafana")
    assert grafana is not None
    assert (grafana.version, grafana.enabled, grafana.builtin) == ("1.1.0", False, True)
    assert [m.id for m in await repo.enabled_manifests(session)] == sorted(
        set(shipped) - {"grafana"}
    )


async def test_builtin_is_replaced_only_by_force_and_never_deleted(session: AsyncSession) -> None:
    await repo.seed_builtin(session, builtin_manifests(), 1.0)
    custom = hook("9.0.0", addon_id="alertmanager")
    with pytest.raises(Conflict, match="built in"):
        await repo.install(session, custom, 2.0)
    with pytest.raises(Conflict, match="cannot be deleted"):
        await repo.delete_addon(session, "alertmanager")
    row, outcome = await repo.install(session, custom, 2.0, force=True)
    assert (outcome, row.builtin, row.version) == (repo.Install.REPLACE, False, "9.0.0")
    assert await repo.seed_builtin(session, builtin_manifests(), 3.0) == []
    assert (await repo.get_addon(session, "alertmanager")) == row
    assert await repo.delete_addon(session, "alertmanager") is True
    assert await repo.seed_builtin(session, builtin_manifests(), 4.0) == ["alertmanager"]


async def test_enable_delete_and_version(session: AsyncSession) -> None:
    assert await repo.addons_version(session) == (0, 0.0)
    await repo.install(session, hook(), 5.0)
    assert await repo.set_enabled(session, "nope", False, 6.0) == (None, False)
    row, changed = await repo.set_enabled(session, "site.hook", False, 6.0)
    assert changed and row is not None and not row.enabled
    assert await repo.set_enabled(session, "site.hook", False, 7.0) == (row, False)
    assert await repo.addons_version(session) == (1, 6.0)
    assert [r.id for r in await repo.list_addons(session, enabled=False)] == ["site.hook"]
    assert await repo.list_addons(session, enabled=True) == []
    assert await repo.delete_addon(session, "site.hook") is True
    assert await repo.delete_addon(session, "site.hook") is False
    assert await repo.addons_version(session) == (0, 0.0)


def test_install_decision_is_pure() -> None:
    document = manifest_document(hook())
    row = repo.AddonRow("site.hook", document, True, True, "1.0.0", 1.0, 1.0)
    decide = repo.install_decision
    assert decide(None, document, builtin=False, force=False) is repo.Install.NEW
    assert decide(row, document, builtin=False, force=False) is repo.Install.REFUSE_BUILTIN
    assert decide(row, document, builtin=True, force=False) is repo.Install.SAME
    assert decide(row, document, builtin=False, force=True) is repo.Install.REPLACE
    other = document | {"title": "x"}
    assert decide(row, other, builtin=True, force=False) is repo.Install.REFUSE_SAME_VERSION
    newer = document | {"version": "2.0"}
    assert decide(row, newer, builtin=True, force=False) is repo.Install.REPLACE
