"""``opsconductor audit verify``: check the audit log's hash chain."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.cli_support import ConfigOption, with_session
from opsconductor.config import Settings
from opsconductor.store.audit import ChainCheck, verify_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
out = Console()


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Walk the audit log's hash chain; exit 1 at the first changed, missing or moved record."""

    async def work(_settings: Settings, session: AsyncSession) -> ChainCheck:
        return await verify_chain(session)

    result = with_session(config, work)
    if result.intact:
        out.print(f"audit log intact: {result.records} records")
        return
    out.print(f"[red]audit log broken:[/red] {result.fault} (after {result.records} good records)")
    raise typer.Exit(1)
