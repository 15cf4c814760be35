"""``opsconductor rules``: list the rules, load a file of them, test one on a log file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.cli_support import ConfigOption, with_session
from opsconductor.config import Settings

rules_app = typer.Typer(help="Detection rules.", no_args_is_help=True)
out = Console()
_T = TypeVar("_T")

ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@rules_app.command("list")
def rules_list(
    agent: Annotated[str | None, typer.Option(help="Only this agent's rules.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """List the rules: id, agent, kind, severity, enabled, origin."""
    from opsconductor.agents.tools import rules_in_store

    rows = with_session(config, lambda _s, session: rules_in_store(session))
    rows = [row for row in rows if agent is None or row.agent == agent]
    if as_json:
        for row in rows:
            print(json.dumps({**row.definition, "origin": row.origin, "revision": row.revision}))
        return
    table = Table("id", "agent", "kind", "severity", "enabled", "origin", "title")
    for row in rows:
        d = row.definition
        on = "yes" if row.enabled else "no"
        table.add_row(
            row.id, row.agent, row.kind, d.get("severity", ""), on, row.origin, d["title"]
        )
    out.print(table)
    out.print(f"{len(rows)} rules")


@rules_app.command("load")
def rules_load(file: ExistingFile, config: ConfigOption = None) -> None:
    """Validate and store the rules of FILE (a pack, a rule or a list); agents reload them."""
    from opsconductor.agents.tools import load_file
    from opsconductor.bus.control import announce_reload

    async def work(settings: Settings, session: AsyncSession) -> list[str]:
        rules = await load_file(session, file)
        if settings.distributed:
            from opsconductor.bus.factory import create_bus

            bus = create_bus(settings)
            await bus.start()
            try:
                ids = ",".join(sorted(rule.id for rule in rules))[:4000]
                await announce_reload(bus, "rules", {"rule_ids": ids})
            finally:
                await bus.close()
        return [rule.id for rule in rules]

    loaded = with_session(config, work)
    out.print(f"loaded {len(loaded)} rules: {', '.join(loaded)}")


@rules_app.command("test")
def rules_test(
    rule_id: Annotated[str, typer.Argument(help="The rule to test.")],
    log_file: ExistingFile,
    rules_file: Annotated[
        Path | None,
        typer.Option("--rules", help="Take the rule from this file instead of the store."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Replay LOG_FILE through one rule; print each finding with its lines and the reason."""
    from opsconductor.agents.tools import find_rule, test_rule

    async def work(settings: Settings, session: AsyncSession) -> None:
        rule = await find_rule(session, rule_id, rules_file)
        results = test_rule(rule, log_file, settings)
        for result in results:
            finding = result.detection.finding
            out.print(
                f"[bold]{finding.kind}[/bold] {finding.severity} {finding.title}"
                f"  [dim]({finding.rule_id}, fingerprint {finding.fingerprint[:12]})[/dim]"
            )
            out.print(f"  reason: {result.detection.reason}")
            for number, text in result.lines:
                out.print(f"  {log_file.name}:{number}: {text}", markup=False, highlight=False)
        out.print(f"{len(results)} findings from rule {rule.id}")

    with_session(config, work)
