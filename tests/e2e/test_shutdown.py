"""A graceful stop keeps everything already accepted (embedded mode holds it in memory)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from tests.e2e.conftest import running_product


@pytest.mark.parametrize("deployment", ["embedded"])
async def test_stop_right_after_a_burst_loses_nothing(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    count = 50_000
    async with running_product(stack_env, monkeypatch) as product:
        _, writer = await asyncio.open_connection("127.0.0.1", product.settings.syslog_tcp_port)
        for start in range(0, count, 5000):
            writer.write(b"".join(
                b"<13>Oct 11 22:14:15 r1 app: burst %d\n" % i for i in range(start, start + 5000)
            ))  # fmt: skip
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.2)  # the receiver has read the socket; most is still queued
    database = Path(stack_env["OPSC_DATA_DIR"]) / "opsconductor.db"
    with sqlite3.connect(database) as db:
        (stored,) = db.execute("SELECT count(*) FROM events").fetchone()
    assert stored == count
