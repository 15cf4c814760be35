"""``opsconductor audit verify``: check the audit log's hash chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.config import Settings
from opsconductor.store.audit import ChainCheck, verify_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
out = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file.", exists=True, dir_okay=False),
]


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Walk the audit log's hash chain; exit 1 at the first changed, missing or moved record."""
    from opsconductor.rules_cli import _with_session

    async def work(_settings: Settings, session: AsyncSession) -> ChainCheck:
        return await verify_chain(session)

    result = _with_session(config, work)
    if result.intact:
        out.print(f"audit log intact: {result.records} records")
        return
    out.print(f"[red]audit log broken:[/red] {result.fault} (after {result.records} good records)")
    raise typer.Exit(1)
