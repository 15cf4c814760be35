"""The ``opsconductor`` command: run the product, one stage of it, or its tools."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from opsconductor import __version__
from opsconductor.cli_support import ConfigOption, console, run_value, settings_of
from opsconductor.config import Settings

app = typer.Typer(
    help="OpsConductor: network operations platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


def _add_tool_commands() -> None:
    from opsconductor.addons_cli import addons_app
    from opsconductor.audit_cli import audit_app
    from opsconductor.rules_cli import rules_app
    from opsconductor.users_cli import keys_app, users_app

    app.add_typer(rules_app, name="rules")
    app.add_typer(addons_app, name="addons")
    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")


def _run(coro: object) -> None:
    """Run a coroutine on uvloop when available; map product errors to exit code 1."""
    run_value(coro)


@app.command()
def up(config: ConfigOption = None) -> None:
    """Run everything in one process: receivers, pipeline, API and UI."""
    from opsconductor.runtime import STAGES

    settings = settings_of(config)
    _run(_serve(settings, STAGES, migrate=True))


@app.command()
def run(
    stage: Annotated[str, typer.Argument(help="ingest, parse, agents, alerts, store or api.")],
    config: ConfigOption = None,
) -> None:
    """Run one stage (distributed mode: needs OPSC_NATS_URL and PostgreSQL)."""
    settings = settings_of(config)
    if not settings.distributed:
        console.print(
            "[red]error:[/red] `run` needs OPSC_NATS_URL; use `opsconductor up` "
            "to run every stage in one process"
        )
        raise typer.Exit(2)
    _run(_serve(settings, (stage,), migrate=False))


async def _serve(settings: Settings, stages: tuple[str, ...], *, migrate: bool) -> None:
    from opsconductor.runtime import Runtime

    runtime = Runtime.for_stages(settings, stages, migrate=migrate)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runtime.start()
        mode = "distributed (NATS JetStream)" if settings.distributed else "embedded"
        console.print(
            f"[bold]OpsConductor {__version__}[/bold] — {mode}, stages: {', '.join(runtime.stages)}"
        )
        for what, where in runtime.listening():
            console.print(f"  {what:<20} {where}")
        print(f"OpsConductor listening: {runtime.http_url or '-'}", flush=True)
        if runtime.generated_admin_password:
            console.print(
                "First start: created user [bold]admin[/bold] with password "
                f"[bold]{runtime.generated_admin_password}[/bold] — shown once; "
                "change it with `opsconductor users passwd admin`"
            )
        await stop.wait()
    finally:
        await runtime.stop()


@app.command()
def replay(
    files: Annotated[list[str], typer.Argument(help="Log files; - reads standard input.")],
    pace: Annotated[
        str,
        typer.Option(
            help="`fast`, or `original` to keep the gaps between the records' timestamps."
        ),
    ] = "fast",
    max_gap: Annotated[
        float, typer.Option(help="Longest pause with --pace original, seconds.")
    ] = 60.0,
    detect: Annotated[
        bool, typer.Option(help="Run the agents and the alert engine on the replayed records.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Run log files through the pipeline, as if the records had just arrived."""
    from opsconductor.ingest.replay import replay_files

    if pace not in ("fast", "original"):
        console.print("[red]error:[/red] --pace is `fast` or `original`")
        raise typer.Exit(2)
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        console.print(f"[red]error:[/red] no such file: {', '.join(missing)}")
        raise typer.Exit(2)
    settings = settings_of(config)
    _run(
        replay_files(
            settings,
            files,
            original_pace=pace == "original",
            max_gap=max_gap,
            console=console,
            detect=detect,
        )
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply every pending migration."""
    from opsconductor.store import upgrade

    settings = settings_of(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _run(upgrade(settings.effective_database_url))
    console.print("database is up to date")


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective settings, secrets masked."""
    settings = settings_of(config)
    json.dump(settings.masked(), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


@app.command()
def permissions() -> None:
    """Print the permission matrix (every route × role) as Markdown, as the code enforces it."""
    from opsconductor.api.app import create_app
    from opsconductor.api.context import AppContext
    from opsconductor.api.matrix import markdown
    from opsconductor.bus.memory import MemoryBus
    from opsconductor.observability import Metrics

    context = AppContext(Settings(), MemoryBus(), Metrics())
    sys.stdout.write(markdown(create_app(context)))


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


_add_tool_commands()
