"""``opsconductor replay``: log files through the same pipeline as live records.

Embedded mode runs the parse and store stages in this process and returns once every line
is stored. Distributed mode publishes to ``raw.replay`` and returns once JetStream holds every
line; the running stages do the rest.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TransferSpeedColumn

from opsconductor.config import Settings
from opsconductor.errors import StoreError
from opsconductor.ingest.batcher import RecordBatcher
from opsconductor.messages import RawEvent
from opsconductor.parse.service import Parser
from opsconductor.runtime import Runtime

CHUNK_LINES = 5000


async def replay_files(
    settings: Settings,
    files: list[str],
    *,
    original_pace: bool = False,
    max_gap: float = 60.0,
    console: Console | None = None,
    detect: bool = True,
) -> int:
    """Replay ``files`` (``-`` is standard input); returns the number of records sent.

    Embedded mode runs the stages here: parse and store, and with ``detect`` the agents and
    the alert engine too (so a replayed log raises its findings and alerts). Distributed mode
    only publishes: the running stages do the rest.
    """
    settings = settings.model_copy(update={"http_port": 0})
    brain = ("alerts", "agents") if detect else ()
    stages = () if settings.distributed else ("store", *brain, "parse")
    runtime = Runtime.for_stages(
        settings, stages, migrate=not settings.distributed, agent_state=False
    )
    await runtime.start()
    assert runtime.bus is not None
    batcher = RecordBatcher(
        runtime.bus,
        "replay",
        runtime.metrics,
        max_events=settings.batch_max_events,
        max_bytes=settings.batch_max_bytes,
        max_record_bytes=settings.syslog_max_message_bytes,
        max_delay=settings.batch_max_delay_ms / 1000.0,
        max_queued_batches=8,
    )
    await batcher.start()
    started = time.perf_counter()
    sent = 0
    try:
        with _progress(console) as progress:
            for name in files:
                sent += await _replay_one(batcher, name, progress, settings, original_pace, max_gap)
    finally:
        await batcher.stop()
        finished = settings.distributed or await runtime.idle(timeout=3600.0)
        await runtime.stop()
    if not finished:
        raise StoreError("replay timed out before every record was stored")
    elapsed = time.perf_counter() - started
    if console is not None:
        console.print(
            f"replayed {sent} records in {elapsed:.2f}s "
            f"({sent / elapsed if elapsed else 0:,.0f} records/s)"
        )
    return sent


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=console is None,
        transient=False,
    )


async def _replay_one(
    batcher: RecordBatcher,
    name: str,
    progress: Progress,
    settings: Settings,
    original_pace: bool,
    max_gap: float,
) -> int:
    path = None if name == "-" else Path(name)
    total = path.stat().st_size if path is not None else None
    task = progress.add_task(name, total=total)
    stream: BinaryIO = sys.stdin.buffer if path is None else path.open("rb")
    pacer = _Pacer(settings, max_gap) if original_pace else None
    sent = 0
    try:
        for chunk, size in _chunks(stream):
            if pacer is not None:
                for line in chunk:
                    await pacer.wait(line)
                    await batcher.put(line, "", time.time())
            else:
                await batcher.put_many(chunk, "", time.time())
            sent += len(chunk)
            progress.advance(task, size)
    finally:
        if path is not None:
            stream.close()
    return sent


def _chunks(stream: BinaryIO) -> Iterator[tuple[list[bytes], int]]:
    """Non-empty lines in chunks, with the bytes each chunk covered."""
    chunk: list[bytes] = []
    size = 0
    for line in stream:
        size += len(line)
        record = line.rstrip(b"\r\n")
        if record.strip():
            chunk.append(record)
        if len(chunk) >= CHUNK_LINES:
            yield chunk, size
            chunk, size = [], 0
    if chunk or size:
        yield chunk, size


class _Pacer:
    """Sleeps the gap between consecutive records' own timestamps (capped at ``max_gap``)."""

    def __init__(self, settings: Settings, max_gap: float) -> None:
        self._parser = Parser(settings.default_timezone)
        self._max_gap = max_gap
        self._previous: float | None = None

    async def wait(self, line: bytes) -> None:
        now = time.time()
        parsed = self._parser.parse_one(RawEvent("0" * 26, now, "replay", "", line))
        stamp = getattr(parsed, "timestamp", None)
        if stamp is None or stamp == now:
            return
        if self._previous is not None and stamp > self._previous:
            await asyncio.sleep(min(stamp - self._previous, self._max_gap))
        self._previous = stamp
