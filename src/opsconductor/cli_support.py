"""What every ``opsconductor`` command shares: the ``--config`` option, loading settings,
running a coroutine (product errors become exit codes), and a database session for tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.config import Settings, load_settings
from opsconductor.errors import OpsConductorError
from opsconductor.observability import configure_logging

console = Console(stderr=True)
_T = TypeVar("_T")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file.", exists=True, dir_okay=False),
]


def settings_of(config: Path | None) -> Settings:
    """Settings from ``config`` and the environment; exit 2 with the reason if unusable."""
    try:
        settings = load_settings(config)
    except OpsConductorError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level)
    return settings


def run_value(coro: Any) -> Any:
    """Run a coroutine on uvloop when available and hand back its result; a product error
    becomes exit code 1 with its message."""
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coro)
    except OpsConductorError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        return None


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    from opsconductor.store import create_engine, session_factory, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def with_session(
    config: Path | None, work: Callable[[Settings, AsyncSession], Awaitable[_T]]
) -> _T:
    """Run ``work`` with the settings and a session on the (migrated) database."""
    settings = settings_of(config)

    async def main() -> _T:
        async with _session(settings) as session:
            return await work(settings, session)

    result: _T = run_value(main())
    return result
