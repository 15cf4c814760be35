"""``opsconductor addons``: install a manifest file, list, enable and disable addons, print the
manifest's JSON Schema.

The commands work on the configured database directly, seeding the built-in addons first (as
``up`` does). Every change is written to the audit log as ``cli:<OS user>`` in the same
transaction; in a distributed deployment it is also announced on ``control.reload.addons``
(an embedded ``up`` elsewhere notices it by the addons' version, like rules).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.addons import repository as repo
from opsconductor.addons.builtin_manifests import builtin_manifests, load_manifest_file
from opsconductor.addons.manifest import manifest_json_schema
from opsconductor.cli_support import ConfigOption, console, with_session
from opsconductor.config import Settings
from opsconductor.errors import AddonError, NotFound
from opsconductor.store.audit import AuditEntry, append_audit
from opsconductor.users_cli import cli_actor

addons_app = typer.Typer(
    help="Addons: SNMP traps, webhooks, syslog programs.", no_args_is_help=True
)
out = Console()

ManifestFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="A manifest, YAML or JSON.",
        show_default=False,
    ),
]  # fmt: skip
AddonId = Annotated[str, typer.Argument(help="The addon's id.", show_default=False)]


async def _audit(
    session: AsyncSession, action: str, target: str, detail: dict[str, Any], now: float
) -> None:
    entry = AuditEntry(now, cli_actor(), "", action, target, "cli", "ok", detail)
    await append_audit(session, entry)


async def _announce(settings: Settings, addon_id: str) -> None:
    """Announce a committed change to a distributed deployment's processes."""
    if not settings.distributed:
        return
    from opsconductor.bus.control import announce_reload
    from opsconductor.bus.factory import create_bus

    bus = create_bus(settings)
    await bus.start()
    try:
        await announce_reload(bus, "addons", {"addon_id": addon_id})
    finally:
        await bus.close()


async def _seeded(session: AsyncSession) -> None:
    await repo.seed_builtin(session, builtin_manifests(), time.time())
    await session.commit()


@addons_app.command("install")
def addons_install(
    file: ManifestFile,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a built-in addon, or a stored manifest of the same version.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Validate the manifest in FILE and install it (a new version replaces the stored one)."""
    try:
        manifest = load_manifest_file(file)
    except AddonError as exc:
        console.print(f"[red]error:[/red] addon {exc.addon} does not validate:", highlight=False)
        for problem in exc.problems:
            console.print(
                f"  {problem.where()}: {problem.msg}", markup=False, highlight=False, soft_wrap=True
            )
        raise typer.Exit(1) from exc

    async def work(settings: Settings, session: AsyncSession) -> tuple[repo.AddonRow, str]:
        await _seeded(session)
        now = time.time()
        row, outcome = await repo.install(session, manifest, now, force=force)
        if outcome is not repo.Install.SAME:
            detail = {"version": row.version, "outcome": outcome.value, "file": file.name}
            await _audit(session, "addons install", row.id, detail, now)
            await session.commit()
            await _announce(settings, row.id)
        return row, outcome.value

    row, outcome = with_session(config, work)
    state = "enabled" if row.enabled else "disabled"
    out.print(
        f"{row.id} {row.version} ({row.method}, {state}): {outcome}", markup=False, highlight=False
    )
    if row.method == "webhook":
        path = (row.manifest.get("match") or {}).get("path") or row.id
        out.print(f"  webhook: POST /api/v1/webhooks/{path}", markup=False, highlight=False)


@addons_app.command("list")
def addons_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """List the addons: id, version, method, enabled, built in, name."""

    async def work(_settings: Settings, session: AsyncSession) -> list[repo.AddonRow]:
        await _seeded(session)
        return await repo.list_addons(session)

    rows = with_session(config, work)
    if as_json:
        for row in rows:
            document = {
                "id": row.id, "version": row.version, "method": row.method, "name": row.name,
                "enabled": row.enabled, "builtin": row.builtin, "manifest": row.manifest,
            }  # fmt: skip
            print(json.dumps(document))
        return
    table = Table("id", "version", "method", "enabled", "built in", "name")
    for row in rows:
        on, builtin = ("yes" if row.enabled else "no"), ("yes" if row.builtin else "no")
        table.add_row(row.id, row.version, row.method, on, builtin, row.name)
    out.print(table)
    out.print(f"{len(rows)} addons")


def _set_enabled(config: Path | None, addon_id: str, enabled: bool) -> None:
    action = "addons enable" if enabled else "addons disable"

    async def work(settings: Settings, session: AsyncSession) -> bool:
        await _seeded(session)
        now = time.time()
        row, changed = await repo.set_enabled(session, addon_id, enabled, now)
        if row is None:
            raise NotFound(f"no addon {addon_id!r}; see `opsconductor addons list`")
        if changed:
            await _audit(session, action, addon_id, {}, now)
            await session.commit()
            await _announce(settings, addon_id)
        return changed

    changed = with_session(config, work)
    word = "enabled" if enabled else "disabled"
    out.print(f"{addon_id} {word}" if changed else f"{addon_id} was {word} already", markup=False)


@addons_app.command("enable")
def addons_enable(addon_id: AddonId, config: ConfigOption = None) -> None:
    """Enable an addon."""
    _set_enabled(config, addon_id, enabled=True)


@addons_app.command("disable")
def addons_disable(addon_id: AddonId, config: ConfigOption = None) -> None:
    """Disable an addon (built-in ones too); its events are no longer taken."""
    _set_enabled(config, addon_id, enabled=False)


@addons_app.command("schema")
def addons_schema() -> None:
    """Print the JSON Schema of a manifest (docs/addon-manifest.schema.json)."""
    print(json.dumps(manifest_json_schema(), indent=2))
